import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

const cases: { name: string; x: number[]; attrs: Record<string, AttrValue> }[] = [
  { name: "2x2 stride 2", x: [3, 6, 6], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  {
    name: "3x3 stride 2 pad 1 (overlapping windows)",
    x: [2, 7, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: "2x2 stride 2, odd sizes",
    x: [2, 7, 5],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
  },
  {
    name: "ceil_mode with odd sizes",
    x: [2, 7, 9],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
  },
  {
    name: "ceil_mode with pads",
    x: [2, 6, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
  },
  {
    name: "dilation 2",
    x: [2, 9, 8],
    attrs: { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 1, 2, 1] },
  },
  {
    name: "dilation 2 stride 2 (windows from two phases)",
    x: [2, 10, 9],
    attrs: { kernel_shape: [3, 2], strides: [2, 2], dilations: [2, 2], pads: [1, 0, 2, 1] },
  },
  {
    name: "stride 3, sizes not a multiple of it",
    x: [2, 11, 8],
    attrs: { kernel_shape: [4, 3], strides: [3, 3], pads: [1, 1, 1, 0], ceil_mode: 1 },
  },
  { name: "kernel 3 stride 1", x: [2, 6, 6], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  {
    name: "asymmetric pads",
    x: [2, 6, 7],
    attrs: { kernel_shape: [3, 2], strides: [2, 1], pads: [0, 1, 2, 0] },
  },
  {
    name: "auto_pad SAME_UPPER",
    x: [2, 7, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER" },
  },
];

for (const c of cases) {
  test(`MaxPool gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, singleOp("MaxPool", c.x, c.attrs), 1e-4);
  });
}

/**
 * The gradient of sum(seed * MaxPool(x)) at x [1, ...dims]: the compiled VJP of the pool with
 * cotangent `seed` ([C, OH, OW]), the seed being a constant weight in the graph.
 */
async function pooledVjp(
  dims: number[],
  attrs: Record<string, AttrValue>,
  x: Float32Array,
  seed: { data: number[]; dims: number[] },
): Promise<number[]> {
  const model = buildModel({
    inputs: [{ name: "x", dims }],
    constants: [{ name: "seed", ...seed }],
    nodes: [
      { op: "MaxPool", inputs: ["x"], outputs: ["pooled"], attrs },
      { op: "Mul", inputs: ["pooled", "seed"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  return [...(await vjpAt(model, x))];
}

// Ties, where finite differences say nothing: PyTorch (and ONNX Runtime's Indices) send a window's
// whole gradient to its first maximum in row-major order, and overlapping windows add up.
test("MaxPool sends each window's gradient to its first maximum, overlapping windows summed", async () => {
  // Channel 0: equal maxima shared by overlapping windows. Channel 1: all zeros, as after a ReLU.
  const x = Float32Array.from([
    1, 3, 3, 0, 3, 0, 0, 0, 0, /* channel 1 */ 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ]);
  const seed = { data: [1, 2, 3, 4, /* channel 1 */ 5, 6, 7, 8], dims: [2, 2, 2] };
  const grad = await pooledVjp([2, 3, 3], { kernel_shape: [2, 2] }, x, seed);
  // Channel 0: windows (0,0) and (0,1) pick x[0][1]; windows (1,0) and (1,1) pick x[1][1].
  // Channel 1: each window picks its top-left element.
  assert.deepEqual(grad, [0, 3, 0, 0, 7, 0, 0, 0, 0, /* channel 1 */ 5, 6, 0, 7, 8, 0, 0, 0, 0]);
});

test("MaxPool ties on all-zero windows: 2x2 stride 2, and padded ceil_mode windows skip the padding", async () => {
  const zeros = new Float32Array(16);
  const strided = await pooledVjp([1, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] }, zeros, {
    data: [1, 2, 3, 4],
    dims: [1, 2, 2],
  });
  assert.deepEqual(strided, [1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
  // 4x4 input, kernel 3, stride 2, pad 1, ceil_mode: windows start at -1, 1 and 3 (overhanging
  // the end pad) on each axis, so their first non-padded positions are rows/columns 0, 1 and 3.
  const attrs = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 };
  const padded = await pooledVjp([1, 4, 4], attrs, zeros, {
    data: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    dims: [1, 3, 3],
  });
  assert.deepEqual(padded, [1, 2, 0, 3, 4, 5, 0, 6, 0, 0, 0, 0, 7, 8, 0, 9]);
});
