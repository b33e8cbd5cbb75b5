import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { createRng } from "../../util/random.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";
import { sizeOf } from "../../tensor/tensor.ts";

// LayerNorm is smooth, but like Softmax not elementwise: one perturbed input moves its whole
// normalised group, and the central difference errs by eps^2 times third derivatives that grow as
// 1/sigma^3 (truncation) plus float32 rounding of every output over eps. The default inputs
// (spaced values, group standard deviations ~0.5-1) measured at most ~3e-5 at eps = 1/256; 2e-4
// leaves a margin, and a missing term (the mean or the xhat projection) errs by order 1.
const maxError = 2e-4;

function weights(n: number, seed: number, offset = 0): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => offset + rng.normal() * 0.5);
}

/** LayerNormalization of x [N, ...dims] over axis..r-1, scale (and bias) random constants. */
function layerNorm(dims: number[], attrs: Record<string, AttrValue>, bias: boolean, opset: number) {
  const rank = dims.length + 1;
  const raw = (attrs["axis"] as number | undefined) ?? -1;
  const normalised = dims.slice((raw < 0 ? raw + rank : raw) - 1);
  const n = sizeOf(normalised);
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants: [
      { name: "scale", dims: normalised, data: weights(n, 3, 1) },
      ...(bias ? [{ name: "bias", dims: normalised, data: weights(n, 4) }] : []),
    ],
    nodes: [
      {
        op: "LayerNormalization",
        inputs: ["x", "scale", ...(bias ? ["bias"] : [])],
        outputs: ["y"],
        attrs,
      },
    ],
    outputs: ["y"],
    opset,
  });
}

const cases: { name: string; dims: number[]; attrs: Record<string, AttrValue>; bias: boolean }[] = [
  { name: "tokens [T, C], last axis, with bias", dims: [5, 8], attrs: {}, bias: true },
  {
    name: "[C, H, W] over all three (axis 1), no bias",
    dims: [3, 4, 4],
    attrs: { axis: 1 },
    bias: false,
  },
  {
    name: "[H, W, C] over [W, C] (axis -2), epsilon 1e-6",
    dims: [3, 4, 5],
    attrs: { axis: -2, epsilon: { float: 1e-6 } },
    bias: true,
  },
];

for (const opset of [17, 21]) {
  for (const c of cases) {
    test(`LayerNormalization gradient matches finite differences: ${c.name} (opset ${opset})`, async (t) => {
      await assertGradients(t, layerNorm(c.dims, c.attrs, c.bias, opset), maxError);
    });
  }
}

test("ConvNeXt's LayerNorm2d: Transpose to channels-last, LayerNormalization, Transpose back", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [6, 3, 3] }],
    constants: [
      { name: "scale", dims: [6], data: weights(6, 3, 1) },
      { name: "bias", dims: [6], data: weights(6, 4) },
    ],
    nodes: [
      { op: "Transpose", inputs: ["x"], outputs: ["t"], attrs: { perm: [0, 2, 3, 1] } },
      {
        op: "LayerNormalization",
        inputs: ["t", "scale", "bias"],
        outputs: ["n"],
        attrs: { epsilon: { float: 1e-6 } },
      },
      { op: "Transpose", inputs: ["n"], outputs: ["y"], attrs: { perm: [0, 3, 1, 2] } },
    ],
    outputs: ["y"],
    opset: 17,
  });
  await assertGradients(t, model, maxError, { batch: 3 });
});

test("LayerNormalization over the batch axis is refused, naming the node and the method", async () => {
  await assert.rejects(
    vjpAt(layerNorm([4], { axis: 0 }, false, 17), new Float32Array(8)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" &&
      /^The gradient cannot pass op "LayerNormalization" \(node "LayerNormalization_0"\) .*batch axis/.test(
        e.message,
      ),
  );
});
