import { attrInts, attrString } from "../../onnx/attributes.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/** The pads of every axis ([begins..., ends...]): attribute before opset 11, then constant input(s). */
function fullPads(ctx: RuleContext, rank: number): number[] {
  const { node, b } = ctx;
  const constant = (k: number): number[] | undefined => {
    const name = node.input[k];
    if (!name) return undefined;
    const t = ctx.constant(name);
    if (!t) {
      throw ctx.unsupported(
        "its pads are computed at run time from the data; camscope needs constant pads",
      );
    }
    return tensorNumbers(t);
  };
  const given = (b.opset >= 11 ? constant(1) : attrInts(node, "pads")) ?? [];
  const axes =
    (b.opset >= 18 ? constant(3) : undefined) ?? Array.from({ length: rank }, (_, a) => a);
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((raw, i) => {
    const a = raw < 0 ? raw + rank : raw;
    pads[a] = given[i]!;
    pads[rank + a] = given[axes.length + i]!;
  });
  return pads;
}

/** `part` (a slab of the gradient along `axis`) zero-padded onto the input's extent there. */
function placed(
  ctx: RuleContext,
  part: string,
  axis: number,
  rank: number,
  begin: number,
  end: number,
): string {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[axis] = begin;
  pads[rank + axis] = end;
  return ctx.b.padZeros(part, pads);
}

/**
 * The gradient along one axis of a reflect/edge/wrap pad with `begin` and `end` elements around
 * `size` input elements: the centre plus each border slab added onto the inputs it copies.
 *   reflect: border j before the centre copies input begin - j, so the reversed slab lands on
 *            inputs 1..begin; the end slab reversed lands on inputs size-1-end..size-2.
 *   edge:    each border slab sums onto the first/last input.
 *   wrap:    the begin slab copies the last `begin` inputs, the end slab the first `end`.
 */
function borderGradient(
  ctx: RuleContext,
  g: string,
  mode: string,
  axis: number,
  rank: number,
  [begin, end, size]: [number, number, number],
): string {
  const { b } = ctx;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
  const take = (indices: number[]) => b.op("Gather", [g, b.int64s(indices)], { axis });
  let sum = b.slice(g, [begin], [begin + size], [axis]);
  if (begin > 0) {
    const left = range(0, begin);
    const part =
      mode === "reflect"
        ? placed(ctx, take(left.reverse()), axis, rank, 1, size - 1 - begin)
        : mode === "edge"
          ? placed(ctx, b.reduceSum(take(left), [axis], true), axis, rank, 0, size - 1)
          : placed(ctx, take(left), axis, rank, size - begin, 0);
    sum = b.add(sum, part);
  }
  if (end > 0) {
    const right = range(begin + size, begin + size + end);
    const part =
      mode === "reflect"
        ? placed(ctx, take(right.reverse()), axis, rank, size - 1 - end, 1)
        : mode === "edge"
          ? placed(ctx, b.reduceSum(take(right), [axis], true), axis, rank, size - 1, 0)
          : placed(ctx, take(right), axis, rank, 0, size - end);
    sum = b.add(sum, part);
  }
  return sum;
}

export const pad: OpRule = {
  op: "Pad",
  rule: (ctx) => {
    const { node } = ctx;
    const x = node.input[0]!;
    const dims = ctx.dims(x);
    const rank = dims.length;
    if (ctx.needsGrad(2)) {
      throw ctx.unsupported("its constant_value is computed from the input");
    }
    const pads = fullPads(ctx, rank);
    if (ctx.batchAxes(x).some((a) => pads[a] !== 0 || pads[rank + a] !== 0)) {
      throw ctx.unsupported("it pads the batch axis; camscope needs samples to stay independent");
    }
    const mode = attrString(node, "mode", "constant");
    const dy = ctx.gradOut()!;
    // Constant padding by p is undone by padding the gradient by -p: crops where p > 0, zeros
    // where a negative p cropped the input.
    if (mode === "constant") {
      ctx.setGrad(
        0,
        ctx.b.padZeros(
          dy,
          pads.map((p) => -p),
        ),
      );
      return;
    }
    if (mode !== "reflect" && mode !== "edge" && mode !== "wrap") {
      throw ctx.unsupported(`it has mode "${mode}", which camscope does not know`);
    }
    let g = dy;
    for (let axis = 0; axis < rank; axis++) {
      const begin = pads[axis]!;
      const end = pads[rank + axis]!;
      if (begin === 0 && end === 0) continue;
      const size = dims[axis]!;
      if (begin < 0 || end < 0) {
        throw ctx.unsupported(
          `it crops (negative pads) in mode ${mode}; camscope supports that in constant mode only`,
        );
      }
      // Larger reflect/wrap pads would copy the input more than once.
      const most = mode === "reflect" ? size - 1 : mode === "wrap" ? size : Infinity;
      if (begin > most || end > most) {
        throw ctx.unsupported(
          `it pads axis ${axis} of size ${size} by [${begin}, ${end}] in mode ${mode}; camscope ` +
            `supports at most ${most} there`,
        );
      }
      g = borderGradient(ctx, g, mode, axis, rank, [begin, end, size]);
    }
    ctx.setGrad(0, g);
  },
};
