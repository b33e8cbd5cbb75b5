// Undoing numpy-style broadcasting: the gradient of a broadcast operand is the output gradient
// summed over the axes along which the operand was repeated.
import type { RuleContext } from "./rule.ts";

/** Reduces `grad` (shaped like the node's output `out`) to the shape of input `target`. */
export function unbroadcast(ctx: RuleContext, grad: string, target: string, out: string): string {
  const outDims = ctx.dims(out);
  const tDims = ctx.dims(target);
  const lead = outDims.length - tDims.length;
  const axes: number[] = [];
  outDims.forEach((d, axis) => {
    if (axis < lead) axes.push(axis);
    else if (tDims[axis - lead] === 1 && d !== 1) axes.push(axis);
    // At the compiled size the batch is 1 on both sides; at run time a batched output repeats an
    // unbatched operand along axis 0.
    else if (axis === 0 && ctx.isBatched(out) && !ctx.isBatched(target)) axes.push(axis);
  });
  if (axes.length === 0) return grad;
  const summed = ctx.b.reduceSum(grad, axes, true);
  return lead > 0 ? ctx.b.op("Reshape", [summed, ctx.b.int64s(tDims)]) : summed;
}
