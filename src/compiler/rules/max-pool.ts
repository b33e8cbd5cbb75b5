import { attrInts } from "../../onnx/attributes.ts";
import { transposeAttrs, windowGeometry } from "../geometry.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/**
 * For each kernel offset, the 0/1 mask of output positions whose window maximum sits at that
 * offset, the first offset in row-major order winning ties (PyTorch's and ONNX Runtime's argmax;
 * ties are common, e.g. all-zero windows after a ReLU). Built from strided slices and exact
 * equality, since the pooled value is one of the window's inputs.
 */
export function argmaxMasks(ctx: RuleContext): string[] {
  const { b, node } = ctx;
  const x = node.input[0]!;
  const y = node.output[0]!;
  const xDims = ctx.dims(x);
  const yDims = ctx.dims(y);
  if (xDims.length !== 4) {
    throw ctx.unsupported("it pools other than 2-D; camscope supports 2-D max pooling only");
  }
  const geo = windowGeometry(node, xDims.slice(2), attrInts(node, "kernel_shape")!);
  const [kh, kw] = geo.kernel as [number, number];
  const [sh, sw] = geo.strides as [number, number];
  const [dh, dw] = geo.dilations as [number, number];
  const [oh, ow] = yDims.slice(2) as [number, number];
  // Pad with -inf so padded positions never win; the end pad also covers ceil_mode overhang.
  const endH = Math.max(
    geo.padsEnd[0]!,
    (oh - 1) * sh + (kh - 1) * dh + 1 - geo.padsBegin[0]! - xDims[2]!,
  );
  const endW = Math.max(
    geo.padsEnd[1]!,
    (ow - 1) * sw + (kw - 1) * dw + 1 - geo.padsBegin[1]! - xDims[3]!,
  );
  const padded =
    geo.padsBegin.every((p) => p === 0) && endH === 0 && endW === 0
      ? x
      : b.op("Pad", [
          x,
          b.int64s([0, 0, geo.padsBegin[0]!, geo.padsBegin[1]!, 0, 0, endH, endW]),
          b.scalar(-Infinity),
        ]);
  const masks: string[] = [];
  let taken: string | undefined;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const window = b.op("Slice", [
        padded,
        b.int64s([i * dh, j * dw]),
        b.int64s([i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1]),
        b.int64s([2, 3]),
        b.int64s([sh, sw]),
      ]);
      const equal = b.mask("Equal", window, y);
      // mask = equal and not taken by an earlier offset; taken accumulates the masks.
      const mask: string = taken ? b.op("Sub", [equal, b.mul(equal, taken)]) : equal;
      taken = taken ? b.add(taken, mask) : mask;
      masks.push(mask);
    }
  }
  return masks;
}

/**
 * Scatters per-offset signals (one [N, C, OH, OW] tensor per kernel offset, row-major) back onto
 * the pooling input, summing where windows overlap: a grouped ConvTranspose whose kernel is the
 * one-hot of each offset.
 */
export function scatterWindows(ctx: RuleContext, perOffset: readonly string[]): string {
  const { b, node } = ctx;
  const x = node.input[0]!;
  const y = node.output[0]!;
  const xDims = ctx.dims(x);
  const yDims = ctx.dims(y);
  const channels = xDims[1]!;
  const kernel = attrInts(node, "kernel_shape")!;
  const [kh, kw] = kernel as [number, number];
  const area = kh * kw;
  const stacked = b.op(
    "Concat",
    perOffset.map((s) => b.unsqueeze(s, [2])),
    { axis: 2 },
  );
  const asChannels = b.op("Reshape", [stacked, b.int64s([0, channels * area, ...yDims.slice(2)])]);
  const oneHot = new Float32Array(channels * area * area);
  for (let c = 0; c < channels; c++)
    for (let k = 0; k < area; k++) oneHot[(c * area + k) * area + k] = 1;
  const weight = b.floats(oneHot, [channels * area, 1, kh, kw], "window_scatter");
  const geo = windowGeometry(node, xDims.slice(2), kernel);
  return b.op("ConvTranspose", [asChannels, weight], {
    ...transposeAttrs(geo, xDims.slice(2), yDims.slice(2)),
    group: channels,
    kernel_shape: kernel,
  });
}

export const maxPool: OpRule = {
  op: "MaxPool",
  rule: (ctx) => {
    const dy = ctx.gradOut(0)!;
    const perOffset = argmaxMasks(ctx).map((m) => ctx.b.mul(m, dy));
    ctx.setGrad(0, scatterWindows(ctx, perOffset));
  },
};
