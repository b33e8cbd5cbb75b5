import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { maskInput, scoreInChunks, upsampledMasks } from "./perturbation.ts";
import { softmaxRows } from "../tensor/maps.ts";

describe("perturbation helpers", () => {
  it("upsamples before normalising; a constant map becomes all zero", () => {
    const masks = upsampledMasks(Float32Array.of(0, 2, 4, 6, 5, 5, 5, 5), 2, [2, 2], [4, 4]);
    assert.equal(masks.length, 32);
    const first = masks.subarray(0, 16);
    assert.equal(Math.min(...first), 0);
    assert.equal(Math.max(...first), 1);
    // Bilinear upsampling keeps the corners' values: 0 and 6 map to 0 and 1, 2 to 1/3.
    assert.equal(first[3], Math.fround(1 / 3));
    assert.deepEqual(Array.from(masks.subarray(16)), new Array(16).fill(0));
  });

  it("masks every colour channel with the same mask", () => {
    const out = maskInput(
      Float32Array.of(1, 2, 3, 4, 5, 6),
      Float32Array.of(0, 0.5, 1),
      new Float32Array(6),
    );
    assert.deepEqual(Array.from(out), [0, 1, 3, 0, 2.5, 6]);
  });

  it("builds and scores items chunk by chunk within the budget, in row order", async () => {
    const calls: number[] = [];
    // Item q of row i is the single value 10 i + q; the score is the value itself.
    const scores = await scoreInChunks(
      2,
      5,
      3,
      (i, start, end, out) => {
        for (let q = start; q < end; q++)
          out.fill(10 * i + q, (q - start) * 3, (q - start + 1) * 3);
      },
      async (items, perRow) => {
        calls.push(perRow);
        return Float32Array.from({ length: 2 * perRow }, (_, j) => items[j * 3]!);
      },
      12,
    );
    assert.deepEqual(calls, [2, 2, 1]);
    assert.deepEqual(Array.from(scores), [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
  });

  it("takes the softmax of each row", () => {
    const out = softmaxRows(Float32Array.of(0, Math.log(3), 1000, 1000), 2);
    assert.deepEqual(Array.from(out), [0.25, 0.75, 0.5, 0.5]);
  });
});
