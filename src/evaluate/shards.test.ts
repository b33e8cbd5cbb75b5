import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CamscopeError } from "../errors.ts";
import type { EvalRecord } from "./records.ts";
import { batchCount, parseShard, runOrder, shardBatches } from "./shards.ts";

describe("shards", () => {
  test("--shard i/N: numbered from 0; malformed or out-of-range specs name the cause in one line", () => {
    assert.deepEqual(parseShard("0/1"), { index: 0, count: 1 });
    assert.deepEqual(parseShard(" 3 / 4 "), { index: 3, count: 4 });
    const cases: [string, RegExp][] = [
      [
        "3/2",
        /^--shard "3\/2": the shard index must be from 0 to 1 \(shards are numbered from 0\)$/,
      ],
      ["2/2", /index must be from 0 to 1/],
      ["0/0", /the shard count N must be at least 1/],
      ["1", /expected i\/N, two whole numbers/],
      ["-1/4", /expected i\/N/],
      ["a/b", /expected i\/N/],
      ["1.5/4", /expected i\/N/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => parseShard(spec),
        (e: unknown) =>
          e instanceof CamscopeError &&
          e.code === "INVALID_ARGUMENT" &&
          message.test(e.message) &&
          !e.message.includes("\n"),
        spec,
      );
    }
  });

  test("the shards' batches are disjoint, cover every batch, and are round robin", () => {
    for (const [items, size, count] of [
      [7, 2, 3],
      [50_000, 16, 7],
      [5, 16, 4],
      [1, 1, 1],
    ] as const) {
      const batches = batchCount(items, size);
      const seen = new Map<number, number>();
      for (let index = 0; index < count; index++) {
        for (const k of shardBatches(items, size, { index, count })) {
          assert.ok(!seen.has(k), `batch ${k} in shards ${seen.get(k)} and ${index}`);
          assert.equal(k % count, index);
          seen.set(k, index);
        }
      }
      assert.equal(seen.size, batches, `${items} images, batches of ${size}, ${count} shards`);
    }
    // 7 images in batches of 2: batches 0..3; shard 0 of 3 holds 0 and 3 (positions 0, 1, 6).
    assert.deepEqual([...shardBatches(7, 2, { index: 0, count: 3 })], [0, 3]);
    // More shards than batches: the last shards are empty.
    assert.deepEqual([...shardBatches(5, 16, { index: 2, count: 4 })], []);
  });

  test("run order: by batch, then method in the configuration's order, then position", () => {
    const record = (image: string, method: string) => ({ image, method }) as EvalRecord;
    const positions = new Map(["a", "b", "c", "d", "e"].map((id, i) => [id, i]));
    const written = [
      record("e", "scorecam"),
      record("c", "scorecam"),
      record("a", "gradcam"),
      record("d", "gradcam"),
      record("b", "scorecam"),
      record("e", "gradcam"),
      record("c", "gradcam"),
      record("b", "gradcam"),
      record("a", "scorecam"),
      record("d", "scorecam"),
    ];
    const ordered = runOrder(written, positions, ["gradcam", "scorecam"], 2);
    assert.deepEqual(
      ordered.map((r) => `${r.image}/${r.method}`),
      [
        "a/gradcam",
        "b/gradcam",
        "a/scorecam",
        "b/scorecam",
        "c/gradcam",
        "d/gradcam",
        "c/scorecam",
        "d/scorecam",
        "e/gradcam",
        "e/scorecam",
      ],
    );
  });
});
