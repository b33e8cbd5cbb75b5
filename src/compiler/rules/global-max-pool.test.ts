import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

for (const [name, x] of [
  ["2-D", [3, 5, 4]],
  ["1-D", [4, 7]],
  ["1x1 spatial", [3, 1, 1]],
] as const) {
  test(`GlobalMaxPool gradient matches finite differences: ${name}`, async (t) => {
    await assertGradients(t, singleOp("GlobalMaxPool", [...x]), 1e-4);
  });
}

test("GlobalMaxPool sends each channel's gradient to its first maximum (ties, as after a ReLU)", async () => {
  // Two channels of 2x3: channel 0 all zeros (ties everywhere), channel 1 with its maximum twice.
  const data = Float32Array.from([0, 0, 0, 0, 0, 0, 1, 3, 2, 3, -1, 0]);
  // The output is weighted by 5 and 7 per channel: the cotangent reaching the pool.
  const model = buildModel({
    inputs: [{ name: "x", dims: [2, 2, 3] }],
    constants: [{ name: "seed", dims: [2, 1, 1], data: [5, 7] }],
    nodes: [
      { op: "GlobalMaxPool", inputs: ["x"], outputs: ["pooled"] },
      { op: "Mul", inputs: ["pooled", "seed"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  const grad = await vjpAt(model, data);
  assert.deepEqual([...grad], [5, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
});
