import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

// Piecewise linear, default inputs away from the kink: exact up to float32 rounding.
test("Relu gradient matches finite differences", async (t) => {
  await assertGradients(t, singleOp("Relu", [3, 4, 4]), 1e-4);
});

test("Relu passes nothing at x = 0, as PyTorch does", async () => {
  const grad = await vjpAt(singleOp("Relu", [3]), Float32Array.from([-1, 0, 2]));
  assert.deepEqual([...grad], [0, 0, 1]);
});
