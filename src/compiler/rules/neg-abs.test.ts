import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

// Linear, or piecewise linear with the default inputs away from 0: exact up to float32 rounding.
for (const op of ["Neg", "Abs"]) {
  test(`${op} gradient matches finite differences`, async (t) => {
    await assertGradients(t, singleOp(op, [3, 4, 4]), 1e-4);
  });
}

test("Abs passes 0 at x = 0, as PyTorch does", async () => {
  const grad = await vjpAt(singleOp("Abs", [3]), Float32Array.from([-2, 0, 3]));
  assert.deepEqual([...grad], [-1, 0, 1]);
});
