import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

/** One node on x [N, ...dims], with an optional constant int64 second input. */
function shapeOp(
  op: string,
  dims: number[],
  attrs: Record<string, AttrValue>,
  opset: number,
  arg?: number[],
) {
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants: arg ? [{ name: "arg", dims: [arg.length], data: arg, int64: true }] : [],
    nodes: [{ op, inputs: arg ? ["x", "arg"] : ["x"], outputs: ["y"], attrs }],
    outputs: ["y"],
    opset,
  });
}

const cases: {
  name: string;
  op: string;
  dims: number[];
  attrs?: Record<string, AttrValue>;
  opset?: number;
  arg?: number[];
}[] = [
  { name: "Flatten axis 1", op: "Flatten", dims: [3, 4, 5], attrs: { axis: 1 } },
  { name: "Flatten default axis (opset 11)", op: "Flatten", dims: [2, 3, 2], opset: 11 },
  { name: "Reshape with 0 and -1", op: "Reshape", dims: [4, 6], arg: [0, 3, -1] },
  { name: "Reshape to [N, 24]", op: "Reshape", dims: [2, 3, 4], arg: [-1, 24] },
  {
    name: "Squeeze attribute axes (opset 11)",
    op: "Squeeze",
    dims: [3, 1, 4, 1],
    attrs: { axes: [2, -1] },
    opset: 11,
  },
  { name: "Squeeze axes input (opset 13)", op: "Squeeze", dims: [3, 1, 4, 1], arg: [-3] },
  {
    name: "Unsqueeze attribute axes (opset 11)",
    op: "Unsqueeze",
    dims: [3, 4],
    attrs: { axes: [1, -1] },
    opset: 11,
  },
  { name: "Unsqueeze axes input (opset 13)", op: "Unsqueeze", dims: [3, 4], arg: [2, -1] },
];

for (const c of cases) {
  test(`${c.name}: gradient matches finite differences`, async (t) => {
    await assertGradients(t, shapeOp(c.op, c.dims, c.attrs ?? {}, c.opset ?? 13, c.arg), 1e-4);
  });
}

// Flatten with axis 2 folds the batch into the first output axis ([N * C, H * W]); a Reshape back
// to [N, C * H * W] gives the checker per-sample outputs.
test("Flatten axis 2: gradient matches finite differences", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [3, 4, 5] }],
    constants: [{ name: "shape", dims: [2], data: [-1, 60], int64: true }],
    nodes: [
      { op: "Flatten", inputs: ["x"], outputs: ["flat"], attrs: { axis: 2 } },
      { op: "Reshape", inputs: ["flat", "shape"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4);
});
