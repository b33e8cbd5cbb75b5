import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

/** Pad of x [N, ...dims], pads (and axes) as constant inputs from opset 11, else an attribute. */
function padModel(
  dims: number[],
  pads: number[],
  mode: string,
  opset = 13,
  axes?: number[],
  value?: number,
): OnnxModel {
  const asInputs = opset >= 11;
  const constants = [
    ...(asInputs ? [{ name: "pads", dims: [pads.length], data: pads, int64: true }] : []),
    ...(value !== undefined ? [{ name: "value", dims: [], data: [value] }] : []),
    ...(axes ? [{ name: "axes", dims: [axes.length], data: axes, int64: true }] : []),
  ];
  const inputs = asInputs
    ? ["x", "pads", value !== undefined ? "value" : "", ...(axes ? ["axes"] : [])]
    : ["x"];
  const attrs: Record<string, AttrValue> = { mode, ...(asInputs ? {} : { pads }) };
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants,
    nodes: [
      {
        op: "Pad",
        inputs: inputs.at(-1) === "" ? inputs.slice(0, -1) : inputs,
        outputs: ["y"],
        attrs,
      },
    ],
    outputs: ["y"],
    opset,
  });
}

const cases: { name: string; model: OnnxModel }[] = [
  {
    name: "constant, asymmetric",
    model: padModel([2, 4, 5], [0, 0, 1, 2, 0, 0, 2, 1], "constant"),
  },
  {
    name: "constant with a value",
    model: padModel([2, 4, 5], [0, 1, 1, 0, 0, 0, 0, 3], "constant", 13, undefined, 0.5),
  },
  {
    name: "constant, negative pads crop",
    model: padModel([2, 5, 6], [0, 0, -1, 2, 0, -1, 2, -2], "constant"),
  },
  {
    name: "constant, attribute form (opset 9)",
    model: padModel([2, 4, 5], [0, 0, 2, 1, 0, 0, 0, 1], "constant", 9),
  },
  {
    name: "constant, axes input (opset 18)",
    model: padModel([2, 4, 5], [1, -1, 2, 1], "constant", 18, [2, -1]),
  },
  { name: "reflect", model: padModel([2, 5, 6], [0, 0, 2, 1, 0, 0, 1, 5], "reflect") },
  {
    name: "reflect, attribute form (opset 9)",
    model: padModel([2, 4, 4], [0, 0, 3, 1, 0, 0, 0, 2], "reflect", 9),
  },
  { name: "edge", model: padModel([2, 4, 5], [0, 0, 2, 7, 0, 0, 3, 1], "edge") },
  { name: "edge on the channel axis", model: padModel([3, 4], [0, 1, 0, 0, 2, 1], "edge") },
  { name: "wrap (opset 19)", model: padModel([2, 4, 5], [0, 0, 4, 2, 0, 0, 1, 5], "wrap", 19) },
];

for (const c of cases) {
  test(`Pad gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, c.model, 1e-4);
  });
}

test("Pad refuses wrap pads beyond the size, crops outside constant mode and batch pads, naming the node", async () => {
  const isRefusal = (e: Error & { code?: string }) =>
    e.code === "UNSUPPORTED_OP" && /"Pad_0"/.test(e.message);
  const x = Float32Array.from([1, 2, 3]);
  await assert.rejects(vjpAt(padModel([3], [0, 4, 0, 0], "wrap", 19), x), isRefusal);
  await assert.rejects(vjpAt(padModel([3], [0, -1, 0, 1], "reflect"), x), isRefusal);
  await assert.rejects(vjpAt(padModel([3], [1, 0, 0, 0], "constant"), x), isRefusal);
});
