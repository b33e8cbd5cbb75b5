import assert from "node:assert/strict";
import { test } from "node:test";
import { checkFiniteRows, NonFiniteError } from "./finite.ts";

test("rows holding NaN or Inf are named by the image they belong to", () => {
  checkFiniteRows(new Float32Array([1, 2, 3, 4]), 2, "the logits");
  const data = new Float32Array([0, 0, NaN, 0, 0, Infinity, 1, 1]);
  assert.throws(
    // Rows 1 and 2 of 4 belong to images 0 and 3 (top-k rows repeat images).
    () => checkFiniteRows(data, 4, 'the logits of model "m"', (r) => [0, 0, 3, 3][r]!),
    (e: unknown) =>
      e instanceof NonFiniteError &&
      e.code === "NON_FINITE" &&
      e.found === "NaN and Inf" &&
      e.images.join() === "0,3" &&
      e.message === 'The logits of model "m" hold NaN and Inf for images 0, 3 of the batch',
  );
  assert.throws(
    () => checkFiniteRows(new Float32Array([-Infinity]), 1, "x"),
    /X hold Inf for image 0/,
  );
});
