import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

const cases: { name: string; x: number[]; indices: number[]; indexDims: number[]; axis: number }[] =
  [
    { name: "scalar index (x[:, 2])", x: [4, 5], indices: [2], indexDims: [], axis: 1 },
    {
      name: "repeated and negative indices on the last axis",
      x: [3, 5],
      indices: [3, 0, 3, -1],
      indexDims: [4],
      axis: -1,
    },
    {
      name: "a run of consecutive indices (placed back by padding)",
      x: [6, 2],
      indices: [1, 2, 3],
      indexDims: [3],
      axis: 1,
    },
    {
      name: "2-D indices in the middle",
      x: [4, 3, 2],
      indices: [0, 2, 1, 1],
      indexDims: [2, 2],
      axis: 2,
    },
  ];

for (const c of cases) {
  test(`Gather gradient matches finite differences: ${c.name}`, async (t) => {
    const model = singleOp("Gather", c.x, { axis: c.axis }, [
      { name: "indices", dims: c.indexDims, data: c.indices, int64: true },
    ]);
    await assertGradients(t, model, 1e-4);
  });
}

test("Gather along the batch axis or at computed indices is refused", async () => {
  const batch = singleOp("Gather", [3], { axis: 0 }, [
    { name: "indices", dims: [], data: [0], int64: true },
  ]);
  await assert.rejects(
    vjpAt(batch, new Float32Array(3)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Gather_0".*batch axis/.test(e.message),
  );
  const computed = buildModel({
    inputs: [{ name: "x", dims: [3] }],
    nodes: [
      { op: "ArgMax", inputs: ["x"], outputs: ["i"], attrs: { axis: 1, keepdims: 0 } },
      { op: "Gather", inputs: ["x", "i"], outputs: ["y"], attrs: { axis: 1 } },
    ],
    outputs: ["y"],
  });
  await assert.rejects(
    vjpAt(computed, Float32Array.from([1, 2, 3])),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Gather_1".*run time/.test(e.message),
  );
});
