import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { floats } from "../testing/fixture-encoding.ts";
import { clipThreshold, clipToThreshold } from "./clip.ts";

test("clipThreshold: hand-computed percentiles of |map| over pixels", () => {
  // |values| sorted: 0, 0.5, 1, 1.5, 2, 3 at ranks 0..5; the p-th percentile sits at rank p/100 * 5.
  const values = [0.5, -3, 1, 0, 2, -1.5];
  assert.equal(clipThreshold(values, 100), 3);
  assert.equal(clipThreshold(values, 50), 1.25); // rank 2.5: halfway from 1 to 1.5
  assert.equal(clipThreshold(values, 80), 2); // rank 4
  assert.ok(Math.abs(clipThreshold(values, 98) - 2.9) < 1e-12); // rank 4.9: 2 + 0.9 * (3 - 2)
  assert.equal(clipThreshold(values, 10), 0.25); // rank 0.5
});

test("clipThreshold: one pixel in a thousand, however large, does not set the scale at 99", () => {
  const values = new Float32Array(1001).fill(1);
  values[500] = -10;
  assert.equal(clipThreshold(values, 99), 1);
  assert.equal(clipThreshold(values, 100), 10);
});

test("clipThreshold: NaN is skipped, an all-zero map gives 0, bad percentiles throw", () => {
  assert.equal(clipThreshold([NaN, 2, NaN, -4], 100), 4);
  assert.equal(clipThreshold(new Float32Array(16), 98), 0);
  assert.equal(clipThreshold([], 98), 0);
  for (const p of [0, -1, 100.5, NaN]) {
    assert.throws(() => clipThreshold([1, 2], p), /clip percentile must be in \(0, 100\]/);
  }
});

test("clipThreshold equals numpy.percentile of |map|; Captum's mass threshold is another", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("./fixtures/clip-thresholds.json", import.meta.url), "utf8"),
  ) as {
    cases: {
      name: string;
      values: string;
      percentiles: number[];
      percentile: number[];
      captum: number[];
    }[];
  };
  assert.equal(fixture.cases.length, 4);
  for (const c of fixture.cases) {
    const values = floats(c.values);
    c.percentiles.forEach((p, k) => {
      const t = clipThreshold(values, p);
      assert.ok(Math.abs(t - c.percentile[k]!) <= 1e-12 * c.percentile[k]!, `${c.name} at ${p}`);
    });
  }
  // On heavy tails Captum's outlier_perc = 2 saturates nothing: its threshold is the maximum.
  const t = fixture.cases.find((c) => c.name === "student-t")!;
  const at98 = t.percentiles.indexOf(98);
  assert.equal(t.captum[at98], t.captum[t.percentiles.indexOf(100)]);
  assert.ok(t.percentile[at98]! < t.captum[at98]! / 10);
});

test("clipToThreshold: scales, clamps to the sign's range, keeps NaN and all-zero maps", () => {
  assert.deepEqual([...clipToThreshold([-4, -1, 0, 1, 2, 4], 2, true)], [-1, -0.5, 0, 0.5, 1, 1]);
  assert.deepEqual([...clipToThreshold([0, 0.5, 1, 3], 2, false)], [0, 0.25, 0.5, 1]);
  assert.deepEqual([...clipToThreshold([-1, 0.5], 2, false)], [0, 0.25]);
  const nan = clipToThreshold([NaN, 1], 2, true);
  assert.ok(Number.isNaN(nan[0]));
  assert.deepEqual([...clipToThreshold([0, 0], 0, true)], [0, 0]);
});
