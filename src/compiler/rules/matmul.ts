import type { OpRule, RuleContext } from "../rule.ts";

/** `v` with its last two axes swapped. */
function transposeLast2(ctx: RuleContext, v: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, k) => k);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return ctx.b.op("Transpose", [v], { perm });
}

/**
 * Reduces `grad` (dims `gradDims`: the broadcast batch dims, then one operand's matrix dims) to
 * the operand `target`, whose dims after numpy's 1-D promotion are `promoted`: sums the batch
 * axes the operand was broadcast along, then reshapes to its true dims where they differ.
 */
function reduceToOperand(
  ctx: RuleContext,
  grad: string,
  gradDims: readonly number[],
  target: string,
  promoted: readonly number[],
): string {
  const tDims = ctx.dims(target);
  const lead = gradDims.length - promoted.length;
  // At the compiled size a batch axis is 1 everywhere; at run time the output's repeats an operand
  // whose axis does not grow with the batch (a 1-D operand has no batch axis).
  const outBatch = ctx.batchAxes(ctx.node.output[0]!);
  const tBatch = promoted.length === tDims.length ? ctx.batchAxes(target) : [];
  const axes: number[] = [];
  for (let axis = 0; axis < gradDims.length - 2; axis++) {
    const repeated =
      promoted[axis - lead] === 1 &&
      (gradDims[axis] !== 1 || (outBatch.includes(axis) && !tBatch.includes(axis - lead)));
    if (axis < lead || repeated) axes.push(axis);
  }
  const summed = ctx.b.reduceSum(grad, axes, true);
  if (lead === 0 && promoted.length === tDims.length) return summed;
  // Static dims, unless the operand's own size follows the batch.
  return tBatch.length === 0
    ? ctx.b.op("Reshape", [summed, ctx.b.int64s(tDims)])
    : ctx.b.reshapeLike(summed, target);
}

// Y = A B with numpy semantics: a 1-D A is [1, K] and a 1-D B is [K, 1] with that axis dropped
// from Y, leading (batch) dims broadcast. With A', B', Y' the promoted forms,
// dA' = dY' B'^T and dB' = A'^T dY', each summed back over the batch dims its operand was
// broadcast along. Transposes of constant operands are folded by ONNX Runtime at load.
export const matMul: OpRule = {
  op: "MatMul",
  rule: (ctx) => {
    const { node, b } = ctx;
    const [a, bm] = node.input as [string, string];
    const aDims = ctx.dims(a);
    const bDims = ctx.dims(bm);
    const aPromoted = aDims.length === 1 ? [1, ...aDims] : aDims;
    const bPromoted = bDims.length === 1 ? [...bDims, 1] : bDims;
    const rank = Math.max(aPromoted.length, bPromoted.length);
    const yPromoted = [...ctx.dims(node.output[0]!)];
    const restored: number[] = [];
    if (aDims.length === 1) restored.push(rank - 2);
    if (bDims.length === 1) restored.push(rank - 1);
    for (const axis of restored) yPromoted.splice(axis, 0, 1);
    const dy = restored.length > 0 ? b.unsqueeze(ctx.gradOut()!, restored) : ctx.gradOut()!;
    const batch = yPromoted.slice(0, -2);
    if (ctx.needsGrad(0)) {
      // B'^T of a 1-D B is the row [1, K].
      const bT = bDims.length === 1 ? b.unsqueeze(bm, [0]) : transposeLast2(ctx, bm, bDims.length);
      const grad = b.op("MatMul", [dy, bT]);
      ctx.setGrad(0, reduceToOperand(ctx, grad, [...batch, ...aPromoted.slice(-2)], a, aPromoted));
    }
    if (ctx.needsGrad(1)) {
      // A'^T of a 1-D A is the column [K, 1].
      const aT = aDims.length === 1 ? b.unsqueeze(a, [1]) : transposeLast2(ctx, a, aDims.length);
      const grad = b.op("MatMul", [aT, dy]);
      ctx.setGrad(1, reduceToOperand(ctx, grad, [...batch, ...bPromoted.slice(-2)], bm, bPromoted));
    }
  },
};
