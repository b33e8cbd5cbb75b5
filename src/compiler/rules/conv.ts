import { attrInt, attrInts } from "../../onnx/attributes.ts";
import { tensorData } from "../../onnx/tensor.ts";
import { transposeAttrs, windowGeometry, type WindowGeometry } from "../geometry.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/**
 * Weights for computing a stride-1 convolution's input gradient as a plain Conv: each group's
 * kernel transposed (in/out channels swapped) and flipped in space. At stride 1 ONNX Runtime's
 * CPU Conv is 2x-7x faster than its ConvTranspose (bench/conv-gradient.ts).
 */
function flippedTransposed(w: Float32Array, dims: readonly number[], group: number): Float32Array {
  const [cout, cinPerGroup, ...kernel] = dims as [number, number, ...number[]];
  const area = kernel.reduce((a, b) => a * b, 1);
  const coutPerGroup = cout / group;
  const out = new Float32Array(w.length);
  for (let g = 0; g < group; g++) {
    for (let o = 0; o < coutPerGroup; o++) {
      for (let i = 0; i < cinPerGroup; i++) {
        const src = ((g * coutPerGroup + o) * cinPerGroup + i) * area;
        const dst = ((g * cinPerGroup + i) * coutPerGroup + o) * area;
        for (let p = 0; p < area; p++) out[dst + p] = w[src + area - 1 - p]!;
      }
    }
  }
  return out;
}

/** The input gradient of a convolution with the given weights and geometry. */
function inputGradient(ctx: RuleContext, geo: WindowGeometry, group: number): string {
  const { b, node } = ctx;
  const [x, w] = node.input as [string, string];
  const y = node.output[0]!;
  const dy = ctx.gradOut()!;
  const wConst = ctx.constant(w);
  const inSpatial = ctx.dims(x).slice(2);
  const outDims = ctx.dims(y);
  // A stride-1 convolution's input gradient is itself a stride-1 Conv (flipped, transposed
  // weights), padded by reach - padBegin in front and by whatever lands the result on the input
  // size at the end. Strided ones go to ConvTranspose: spreading the gradient onto the stride-1
  // grid first multiplies the work by stride^2 and measured 2x-15x slower on dense kernels
  // (ResNet-50's strided convs, first layers with 3 output channels) and no faster on depthwise
  // ones (bench/conv-gradient.ts).
  const reach = geo.kernel.map((k, a) => (k - 1) * geo.dilations[a]!);
  const front = reach.map((r, a) => r - geo.padsBegin[a]!);
  const back = inSpatial.map((h, a) => h + geo.padsBegin[a]! - outDims[a + 2]!);
  const asConv =
    wConst !== undefined &&
    inSpatial.length === 2 &&
    geo.strides.every((s) => s === 1) &&
    front.every((p) => p >= 0) &&
    back.every((p) => p >= 0);
  if (asConv) {
    const wDims = wConst.dims ?? [];
    const cinPerGroup = wDims[1]!;
    const flipped = b.floats(
      flippedTransposed(tensorData(wConst) as Float32Array, wDims, group),
      [cinPerGroup * group, wDims[0]! / group, ...wDims.slice(2)],
      "conv_grad_weight",
    );
    return b.op("Conv", [dy, flipped], {
      dilations: geo.dilations,
      group,
      pads: [...front, ...back],
      kernel_shape: geo.kernel,
    });
  }
  return b.op("ConvTranspose", [dy, w], {
    ...transposeAttrs(geo, inSpatial, outDims.slice(2)),
    group,
    kernel_shape: geo.kernel,
  });
}

export const conv: OpRule = {
  op: "Conv",
  rule: (ctx) => {
    const { node } = ctx;
    if (ctx.needsGrad(1) || ctx.needsGrad(2)) {
      throw ctx.unsupported(
        "its weights are computed from the input; camscope differentiates only w.r.t. activations",
      );
    }
    const x = node.input[0]!;
    const w = node.input[1]!;
    const kernel = attrInts(node, "kernel_shape") ?? ctx.dims(w).slice(2);
    const geo = windowGeometry(node, ctx.dims(x).slice(2), kernel);
    ctx.setGrad(0, inputGradient(ctx, geo, attrInt(node, "group", 1)));
  },
};
