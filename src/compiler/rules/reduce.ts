import { attrInt, attrInts } from "../../onnx/attributes.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/**
 * The reduced axes, sorted and non-negative, or undefined for a no-op. Axes are an attribute until
 * ReduceSum-13 and the other reductions' version 18, an optional input from then on, where absent
 * axes mean all axes unless noop_with_empty_axes is set.
 */
function reducedAxes(ctx: RuleContext, inputFromOpset: number): number[] | undefined {
  const { node, b } = ctx;
  const x = node.input[0]!;
  const rank = ctx.dims(x).length;
  let axes: number[] | undefined;
  if (b.opset >= inputFromOpset) {
    const name = node.input[1];
    if (name) {
      const t = ctx.constant(name);
      if (!t) {
        throw ctx.unsupported(
          "its axes are computed at run time from the data; camscope needs constant axes",
        );
      }
      axes = tensorNumbers(t);
    }
    const noop = attrInt(node, "noop_with_empty_axes", 0) === 1;
    if (noop && (!axes || axes.length === 0)) return undefined;
  } else {
    axes = attrInts(node, "axes");
  }
  const all =
    !axes || axes.length === 0
      ? Array.from({ length: rank }, (_, a) => a)
      : [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
  if (all.some((a) => ctx.batchAxes(x).includes(a))) {
    throw ctx.unsupported(
      "it reduces over the batch axis; camscope needs samples to stay independent",
    );
  }
  return all;
}

/** A reduced value (the output or its gradient) with the reduced axes restored as size 1. */
function keptDims(ctx: RuleContext, value: string, axes: readonly number[]): string {
  return attrInt(ctx.node, "keepdims", 1) === 1 ? value : ctx.b.unsqueeze(value, axes);
}

/**
 * A reduction's rule from its gradient: `dy` and `y` are the output gradient and the output with
 * the reduced axes kept as size 1, so they broadcast against the input.
 */
function reductionRule(
  op: string,
  inputFromOpset: number,
  grad: (ctx: RuleContext, axes: number[], dy: string, y: () => string) => string,
): OpRule {
  return {
    op,
    rule: (ctx) => {
      const axes = reducedAxes(ctx, inputFromOpset);
      const dy = ctx.gradOut()!;
      const y = () => keptDims(ctx, ctx.node.output[0]!, axes!);
      ctx.setGrad(0, axes ? grad(ctx, axes, keptDims(ctx, dy, axes), y) : dy);
    },
  };
}

/** `dy` (reduced axes kept) repeated over the input's shape. */
function expanded(ctx: RuleContext, dy: string): string {
  return ctx.b.op("Expand", [dy, ctx.b.shape(ctx.node.input[0]!)]);
}

// Sum: every input element receives its reduced position's gradient.
export const reduceSum = reductionRule("ReduceSum", 13, (ctx, _axes, dy) => expanded(ctx, dy));

// Mean: the same, divided by the number of reduced elements (static: never the batch axis).
export const reduceMean = reductionRule("ReduceMean", 18, (ctx, axes, dy) => {
  const dims = ctx.dims(ctx.node.input[0]!);
  const count = axes.reduce((n, a) => n * dims[a]!, 1);
  return expanded(ctx, ctx.b.mul(dy, ctx.b.scalar(1 / count)));
});

// Sum of squares: d/dx sum x^2 = 2x.
export const reduceSumSquare = reductionRule("ReduceSumSquare", 18, (ctx, _axes, dy) => {
  const { b } = ctx;
  return b.mul(b.mul(ctx.node.input[0]!, b.scalar(2)), dy);
});

// L2 norm: d/dx sqrt(sum x^2) = x / y; where y = 0 (all reduced x are 0) the gradient is 0, as in
// PyTorch, so the divisor is made 1 there.
export const reduceL2 = reductionRule("ReduceL2", 18, (ctx, _axes, dy, y) => {
  const { b } = ctx;
  const norm = y();
  const safe = b.add(norm, b.mask("Equal", norm, b.scalar(0)));
  return b.mul(ctx.node.input[0]!, b.op("Div", [dy, safe]));
});

// L1 norm: d/dx sum |x| = sign(x) (0 at 0, as PyTorch's abs).
export const reduceL1 = reductionRule("ReduceL1", 18, (ctx, _axes, dy) =>
  ctx.b.mul(ctx.b.op("Sign", [ctx.node.input[0]!]), dy),
);

// Log-sum-exp: d/dx log sum exp x = exp(x - y), the softmax over the reduced axes.
export const reduceLogSumExp = reductionRule("ReduceLogSumExp", 18, (ctx, _axes, dy, y) => {
  const { b } = ctx;
  return b.mul(b.op("Exp", [b.op("Sub", [ctx.node.input[0]!, y()])]), dy);
});

/** Max and min: the gradient is split evenly among the elements equal to the extremum (as torch.amax). */
function extremumRule(op: string): OpRule {
  return reductionRule(op, 18, (ctx, axes, dy, y) => {
    const { b } = ctx;
    const isExtremum = b.mask("Equal", ctx.node.input[0]!, y());
    const ties = b.reduceSum(isExtremum, axes, true);
    return b.mul(isExtremum, b.op("Div", [dy, ties]));
  });
}

export const reduceMax = extremumRule("ReduceMax");
export const reduceMin = extremumRule("ReduceMin");
