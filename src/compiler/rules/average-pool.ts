import { attrInt, attrInts } from "../../onnx/attributes.ts";
import { transposeAttrs, windowGeometry, type WindowGeometry } from "../geometry.ts";
import type { OpRule } from "../rule.ts";

/**
 * The divisor of each output position along one spatial axis: the window's taps inside the input,
 * or with count_include_pad those inside the padded input (begin pad to end pad), so that a
 * ceil_mode window overhanging the end pad counts only its taps up to there (as ONNX Runtime and
 * PyTorch do). Windows are boxes, so a position's divisor is the product over the axes.
 */
function tapCounts(
  geo: WindowGeometry,
  axis: number,
  inSize: number,
  outSize: number,
  includePad: boolean,
): number[] {
  const k = geo.kernel[axis]!;
  const stride = geo.strides[axis]!;
  const dilation = geo.dilations[axis]!;
  const start0 = -geo.padsBegin[axis]!;
  const limit = includePad ? inSize + geo.padsEnd[axis]! : inSize;
  return Array.from({ length: outSize }, (_, o) => {
    let count = 0;
    for (let i = 0; i < k; i++) {
      const p = o * stride + start0 + i * dilation;
      if (p < limit && (includePad || p >= 0)) count++;
    }
    return count;
  });
}

/** 1 / divisor for every output position, shaped [OH, OW, ...] (broadcast over batch and channels). */
function inverseDivisors(
  geo: WindowGeometry,
  inDims: readonly number[],
  outDims: readonly number[],
  includePad: boolean,
): Float32Array {
  let values = [1];
  inDims.forEach((inSize, axis) => {
    const counts = tapCounts(geo, axis, inSize, outDims[axis]!, includePad);
    values = values.flatMap((v) => counts.map((c) => v / c));
  });
  return Float32Array.from(values);
}

// Each input position receives dY / divisor from every window that covers it: the scaled output
// gradient scattered by a grouped ConvTranspose with all-ones kernels.
export const averagePool: OpRule = {
  op: "AveragePool",
  rule: (ctx) => {
    const { b, node } = ctx;
    const x = node.input[0]!;
    const xDims = ctx.dims(x);
    const inDims = xDims.slice(2);
    const outDims = ctx.dims(node.output[0]!).slice(2);
    const kernel = attrInts(node, "kernel_shape")!;
    const geo = windowGeometry(node, inDims, kernel);
    const includePad = attrInt(node, "count_include_pad", 0) === 1;
    const scale = b.floats(
      inverseDivisors(geo, inDims, outDims, includePad),
      outDims,
      "avgpool_inv_divisor",
    );
    const channels = xDims[1]!;
    const area = kernel.reduce((a, k) => a * k, 1);
    const ones = b.floats(
      new Float32Array(channels * area).fill(1),
      [channels, 1, ...kernel],
      "avgpool_ones",
    );
    ctx.setGrad(
      0,
      b.op("ConvTranspose", [b.mul(ctx.gradOut()!, scale), ones], {
        ...transposeAttrs(geo, inDims, outDims),
        group: channels,
        kernel_shape: kernel,
      }),
    );
  },
};
