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
  // With equal strides s > 1 the padded input is also rounded up to whole s x s blocks, for
  // phaseWindows below.
  const phased = sh === sw && sh > 1;
  const endPad = (axis: number): number => {
    const stride = geo.strides[axis]!;
    const extent = (yDims[axis + 2]! - 1) * stride + (geo.kernel[axis]! - 1) * geo.dilations[axis]!;
    const begin = geo.padsBegin[axis]! + xDims[axis + 2]!;
    const need = Math.max(geo.padsEnd[axis]!, extent + 1 - begin);
    return phased ? need + ((stride - ((begin + need) % stride)) % stride) : need;
  };
  const endH = endPad(0);
  const endW = endPad(1);
  const padded =
    geo.padsBegin.every((p) => p === 0) && endH === 0 && endW === 0
      ? x
      : b.op("Pad", [
          x,
          b.int64s([0, 0, geo.padsBegin[0]!, geo.padsBegin[1]!, 0, 0, endH, endW]),
          b.scalar(-Infinity),
        ]);
  const stridedWindows = (top: number, left: number): string =>
    b.op("Slice", [
      padded,
      b.int64s([top, left]),
      b.int64s([top + (oh - 1) * sh + 1, left + (ow - 1) * sw + 1]),
      b.int64s([2, 3]),
      b.int64s([sh, sw]),
    ]);
  const window = phased ? phaseWindows(ctx, padded, sh, [oh, ow]) : stridedWindows;
  const masks: string[] = [];
  let taken: string | undefined;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const equal = b.mask("Equal", window(i * dh, j * dw), y);
      // mask = equal and not taken by an earlier offset; taken accumulates the masks.
      const mask: string = taken ? b.op("Sub", [equal, b.mul(equal, taken)]) : equal;
      taken = taken ? b.add(taken, mask) : mask;
      masks.push(mask);
    }
  }
  return masks;
}

/**
 * The window inputs at one kernel offset, for all outputs: the padded input from row `top` and
 * column `left` on, every s-th. ONNX Runtime's Slice copies strided elements one by one (0.2 ms a
 * window on ResNet's 112 x 112 pool), so the padded input is first split into its s x s phases by
 * one SpaceToDepth, where every window is a contiguous block of one phase.
 */
function phaseWindows(
  ctx: RuleContext,
  padded: string,
  s: number,
  [oh, ow]: [number, number],
): (top: number, left: number) => string {
  const { b } = ctx;
  const channels = ctx.dims(ctx.node.input[0]!)[1]!;
  const phases = b.op("SpaceToDepth", [padded], { blocksize: s });
  return (top, left) => {
    const phase = (top % s) * s + (left % s);
    const [row, col] = [Math.floor(top / s), Math.floor(left / s)];
    return b.op("Slice", [
      phases,
      b.int64s([phase * channels, row, col]),
      b.int64s([(phase + 1) * channels, row + oh, col + ow]),
      b.int64s([1, 2, 3]),
    ]);
  };
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
