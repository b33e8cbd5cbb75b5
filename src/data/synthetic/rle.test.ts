import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../util/random.ts";
import { decodeRle, encodeRle } from "./rle.ts";
import { CamscopeError } from "../../errors.ts";

test("encodeRle() runs down the columns and starts with background", () => {
  // 2 rows × 3 columns, row-major:  1 0 0
  //                                 1 1 0
  const mask = Uint8Array.from([1, 0, 0, 1, 1, 0]);
  // Column-major: 1 1 | 0 1 | 0 0  ->  runs 0 (background), 2, 1, 1, 2.
  assert.deepEqual(encodeRle(mask, 3, 2), { counts: [0, 2, 1, 1, 2], size: [2, 3] });
  assert.deepEqual(encodeRle(new Uint8Array(6), 3, 2), { counts: [6], size: [2, 3] });
});

test("decodeRle() inverts encodeRle()", () => {
  const rng = createRng(4);
  for (const [width, height] of [
    [1, 1],
    [5, 3],
    [17, 31],
  ] as const) {
    for (const density of [0, 0.2, 0.8, 1]) {
      const mask = Uint8Array.from({ length: width * height }, () => (rng.chance(density) ? 1 : 0));
      assert.deepEqual(decodeRle(encodeRle(mask, width, height)), mask);
    }
  }
  assert.throws(() => decodeRle({ counts: [2, 1], size: [2, 2] }), CamscopeError);
});
