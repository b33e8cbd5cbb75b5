import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

/** One reduction of x [N, ...dims]; `axesInput` becomes a constant second input. */
function reduction(
  op: string,
  dims: number[],
  attrs: Record<string, AttrValue>,
  opset: number,
  axesInput?: number[],
) {
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants: axesInput
      ? [{ name: "axes", dims: [axesInput.length], data: axesInput, int64: true }]
      : [],
    nodes: [{ op, inputs: axesInput ? ["x", "axes"] : ["x"], outputs: ["y"], attrs }],
    outputs: ["y"],
    opset,
  });
}

const cases: {
  op: string;
  name: string;
  attrs: Record<string, AttrValue>;
  opset: number;
  axesInput?: number[];
}[] = [
  {
    op: "ReduceMean",
    name: "spatial, keepdims (opset 13 attribute)",
    attrs: { axes: [2, 3] },
    opset: 13,
  },
  {
    op: "ReduceMean",
    name: "negative axes, keepdims 0 (opset 11)",
    attrs: { axes: [-1, -2], keepdims: 0 },
    opset: 11,
  },
  {
    op: "ReduceMean",
    name: "axes input, keepdims 0 (opset 18)",
    attrs: { keepdims: 0 },
    opset: 18,
    axesInput: [-1, 1],
  },
  {
    op: "ReduceMean",
    name: "noop_with_empty_axes (opset 18)",
    attrs: { noop_with_empty_axes: 1 },
    opset: 18,
  },
  {
    op: "ReduceSum",
    name: "attribute axes, keepdims 0 (opset 11)",
    attrs: { axes: [1], keepdims: 0 },
    opset: 11,
  },
  {
    op: "ReduceSum",
    name: "axes input, negative (opset 13)",
    attrs: {},
    opset: 13,
    axesInput: [-1],
  },
  {
    op: "ReduceSum",
    name: "noop_with_empty_axes (opset 13)",
    attrs: { noop_with_empty_axes: 1 },
    opset: 13,
  },
  { op: "ReduceMax", name: "spatial, keepdims (opset 13)", attrs: { axes: [2, 3] }, opset: 13 },
  {
    op: "ReduceMax",
    name: "channels, keepdims 0 (opset 18 input)",
    attrs: { keepdims: 0 },
    opset: 18,
    axesInput: [1],
  },
  {
    op: "ReduceMax",
    name: "negative axes (opset 11)",
    attrs: { axes: [-2], keepdims: 0 },
    opset: 11,
  },
];

for (const c of cases) {
  test(`${c.op} gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, reduction(c.op, [3, 4, 5], c.attrs, c.opset, c.axesInput), 1e-4);
  });
}

test("ReduceMax splits the gradient evenly among tied maxima (as torch.amax)", async () => {
  // Rows [2, 0, 2, 2] and [1, 3, 0, -1], their maxima weighted by 6 and 5 (the cotangent).
  const model = buildModel({
    inputs: [{ name: "x", dims: [2, 4] }],
    constants: [{ name: "seed", dims: [2], data: [6, 5] }],
    nodes: [
      { op: "ReduceMax", inputs: ["x"], outputs: ["m"], attrs: { axes: [2], keepdims: 0 } },
      { op: "Mul", inputs: ["m", "seed"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  const grad = await vjpAt(model, Float32Array.from([2, 0, 2, 2, 1, 3, 0, -1]));
  assert.deepEqual([...grad], [2, 0, 2, 2, 0, 5, 0, 0]);
});

test("ReduceMean over the batch axis is refused", async () => {
  await assert.rejects(
    vjpAt(reduction("ReduceMean", [3], { keepdims: 1 }, 18), new Float32Array(3)),
    (e: Error & { code?: string }) => e.code === "UNSUPPORTED_OP" && /ReduceMean_0/.test(e.message),
  );
});
