import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
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

interface Case {
  op: string;
  name: string;
  attrs: Record<string, AttrValue>;
  opset: number;
  axesInput?: number[];
}

const cases: Case[] = [
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
  ...["ReduceSumSquare", "ReduceL2", "ReduceL1", "ReduceMin", "ReduceLogSumExp"].flatMap(
    (op): Case[] => [
      {
        op,
        name: "spatial, keepdims 0 (opset 13 attribute)",
        attrs: { axes: [2, 3], keepdims: 0 },
        opset: 13,
      },
      {
        op,
        name: "channels and width, keepdims (opset 18 input)",
        attrs: {},
        opset: 18,
        axesInput: [1, -1],
      },
      {
        op,
        name: "all non-batch axes, keepdims 0 (opset 21 input)",
        attrs: { keepdims: 0 },
        opset: 21,
        axesInput: [1, 2, 3],
      },
    ],
  ),
];

// Sum, mean, max, min and L1 are piecewise linear (the inputs stay off ties and off 0), sum of
// squares quadratic: central differences are exact up to float32 rounding. The L2 norm and
// log-sum-exp are smooth, but their outputs move by eps times per-element gradients of only
// ~1/sqrt(n) or 1/n: float32 rounding of the outputs over eps dominates (up to 1e-3 relative
// measured at eps = 1/256 over n = 60). A sweep over sizes, input ranges and eps found the least
// noise on [2, 3, 2] (n <= 12) with |x| in [1.06, 2.6] and eps = 1/64: at most 6.5e-5 relative
// (truncation ~eps^2 |f'''| stays below that, |f'''| <= 3 / |y|^2 and <= 0.1). They are held to
// 2e-4, Softmax's bound; a wrong rule errs by order 1.
const smooth = new Set(["ReduceL2", "ReduceLogSumExp"]);
const smoothInput = Float32Array.from(spacedValues(2 * 12, 1), (v) => v + Math.sign(v));

for (const c of cases) {
  test(`${c.op} gradient matches finite differences: ${c.name}`, async (t) => {
    if (smooth.has(c.op)) {
      const model = reduction(c.op, [2, 3, 2], c.attrs, c.opset, c.axesInput);
      await assertGradients(t, model, 2e-4, { eps: 1 / 64, data: { x: smoothInput } });
      return;
    }
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

test("ReduceMin splits the gradient evenly among tied minima", async () => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [2, 3] }],
    nodes: [{ op: "ReduceMin", inputs: ["x"], outputs: ["y"], attrs: { axes: [2], keepdims: 0 } }],
    outputs: ["y"],
  });
  const grad = await vjpAt(model, Float32Array.from([1, -2, -2, 0, 4, 3]));
  assert.deepEqual([...grad], [0, 0.5, 0.5, 1, 0, 0]);
});

test("ReduceL2 of an all-zero row has a zero gradient, as PyTorch's norm", async () => {
  const model = reduction("ReduceL2", [2], { axes: [1], keepdims: 0 }, 13);
  const grad = await vjpAt(model, Float32Array.from([0, 0, 3, -4]));
  assert.deepEqual([...grad], [0, 0, 0.6000000238418579, -0.800000011920929]);
});

test("ReduceMean over the batch axis is refused", async () => {
  await assert.rejects(
    vjpAt(reduction("ReduceMean", [3], { keepdims: 1 }, 18), new Float32Array(3)),
    (e: Error & { code?: string }) => e.code === "UNSUPPORTED_OP" && /ReduceMean_0/.test(e.message),
  );
});
