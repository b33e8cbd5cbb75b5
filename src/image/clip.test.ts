import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { floats } from "../testing/fixture-encoding.ts";
import { clipThreshold, clipToThreshold } from "./clip.ts";

test("clipThreshold: a hand-computed case", () => {
  // |values| sorted: 0, 0.5, 1, 1.5, 2, 3; running sums 0, 0.5, 1.5, 3, 5, 8 of a total of 8.
  const values = [0.5, -3, 1, 0, 2, -1.5];
  assert.equal(clipThreshold(values, 100), 3);
  assert.equal(clipThreshold(values, 98), 3); // 7.84 is first reached at 8
  assert.equal(clipThreshold(values, 60), 2); // 4.8 -> 5
  assert.equal(clipThreshold(values, 37.5), 1.5); // exactly 3 counts as reached
  assert.equal(clipThreshold(values, 37.4), 1.5);
  assert.equal(clipThreshold(values, 18.75), 1); // 1.5
  assert.equal(clipThreshold(values, 1), 0.5); // 0.08 -> 0.5
});

test("clipThreshold: 2% of the total mass in one pixel saturates it, however large", () => {
  // 1000 ones and one 10: 98% of 1010 is 989.8, reached at the 990th one.
  const values = new Float32Array(1001).fill(1);
  values[500] = -10;
  assert.equal(clipThreshold(values, 98), 1);
  assert.equal(clipThreshold(values, 99.5), 10); // 1004.95 needs the outlier
});

test("clipThreshold: NaN is skipped, an all-zero map gives 0, bad percentiles throw", () => {
  assert.equal(clipThreshold([NaN, 2, NaN, -4], 100), 4);
  assert.equal(clipThreshold(new Float32Array(16), 98), 0);
  assert.equal(clipThreshold([], 98), 0);
  for (const p of [0, -1, 100.5, NaN]) {
    assert.throws(() => clipThreshold([1, 2], p), /clip percentile must be in \(0, 100\]/);
  }
});

test("clipThreshold equals Captum's cumulative-sum threshold (numpy reference)", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("./fixtures/clip-thresholds.json", import.meta.url), "utf8"),
  ) as {
    cases: { name: string; values: string; percentiles: number[]; float64: number[] }[];
  };
  assert.equal(fixture.cases.length, 4);
  for (const c of fixture.cases) {
    const values = floats(c.values);
    c.percentiles.forEach((p, k) => {
      assert.equal(clipThreshold(values, p), c.float64[k], `${c.name} at ${p}`);
    });
  }
});

test("clipToThreshold: scales, clamps to the sign's range, keeps NaN and all-zero maps", () => {
  assert.deepEqual([...clipToThreshold([-4, -1, 0, 1, 2, 4], 2, true)], [-1, -0.5, 0, 0.5, 1, 1]);
  assert.deepEqual([...clipToThreshold([0, 0.5, 1, 3], 2, false)], [0, 0.25, 0.5, 1]);
  assert.deepEqual([...clipToThreshold([-1, 0.5], 2, false)], [0, 0.25]);
  const nan = clipToThreshold([NaN, 1], 2, true);
  assert.ok(Number.isNaN(nan[0]));
  assert.deepEqual([...clipToThreshold([0, 0], 0, true)], [0, 0]);
});
