import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

/**
 * Split of x [N, ...dims] into `parts` outputs; the graph output concatenates the outputs listed in
 * `used` (in that order) along the split axis, so unused outputs must contribute zeros to the gradient.
 */
function splitModel(
  dims: number[],
  parts: number,
  attrs: Record<string, AttrValue>,
  used: number[],
  opset: number,
  sizes?: number[],
) {
  const outputs = Array.from({ length: parts }, (_, k) => `s${k}`);
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants: sizes ? [{ name: "sizes", dims: [sizes.length], data: sizes, int64: true }] : [],
    nodes: [
      { op: "Split", inputs: sizes ? ["x", "sizes"] : ["x"], outputs, attrs },
      {
        op: "Concat",
        inputs: used.map((k) => outputs[k]!),
        outputs: ["y"],
        attrs: { axis: attrs.axis ?? 0 },
      },
    ],
    outputs: ["y"],
    opset,
  });
}

const cases: { name: string; model: ReturnType<typeof splitModel> }[] = [
  {
    name: "split attribute (opset 11)",
    model: splitModel([5, 3], 2, { axis: 1, split: [2, 3] }, [1, 0], 11),
  },
  {
    name: "equal parts, negative axis, middle output unused",
    model: splitModel([3, 6], 3, { axis: -1 }, [2, 0], 13),
  },
  {
    name: "split input (opset 13)",
    model: splitModel([6, 2], 3, { axis: 1 }, [0, 2, 1], 13, [1, 2, 3]),
  },
  {
    name: "num_outputs, uneven (opset 18)",
    model: splitModel([2, 7], 3, { axis: 2, num_outputs: 3 }, [2, 1], 18),
  },
];

for (const c of cases) {
  test(`Split gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, c.model, 1e-4);
  });
}

test("Split gradient matches finite differences: only the first output used", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [4, 3] }],
    nodes: [
      { op: "Split", inputs: ["x"], outputs: ["y", "rest"], attrs: { axis: 1, split: [1, 3] } },
    ],
    outputs: ["y"],
    opset: 11,
  });
  await assertGradients(t, model, 1e-4);
});
