// Undoing numpy-style broadcasting: the gradient of a broadcast operand is the output gradient
// summed over the axes along which the operand was repeated.
import type { RuleContext } from "./rule.ts";

/** Reduces `grad` (shaped like the node's output `out`) to the shape of input `target`. */
export function unbroadcast(ctx: RuleContext, grad: string, target: string, out: string): string {
  const outDims = ctx.dims(out);
  const tDims = ctx.dims(target);
  const lead = outDims.length - tDims.length;
  const outBatch = ctx.batchAxes(out);
  const tBatch = ctx.batchAxes(target);
  const axes: number[] = [];
  outDims.forEach((d, axis) => {
    if (axis < lead) axes.push(axis);
    else if (tDims[axis - lead] !== 1) return;
    // At the compiled size a batch axis is 1 on both sides; at run time the output's repeats an
    // operand whose axis does not grow with the batch.
    else if (d !== 1 || (outBatch.includes(axis) && !tBatch.includes(axis - lead))) axes.push(axis);
  });
  if (axes.length === 0) return grad;
  const summed = ctx.b.reduceSum(grad, axes, true);
  if (lead === 0) return summed;
  // Dropping the leading axes: static dims, unless the operand's own size follows the batch.
  return tBatch.length === 0
    ? ctx.b.op("Reshape", [summed, ctx.b.int64s(tDims)])
    : ctx.b.reshapeLike(summed, target);
}
