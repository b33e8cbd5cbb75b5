import { CamscopeError } from "../../errors.ts";
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
  const rank = ctx.dims(node.input[0]!).length;
  let axes: number[] | undefined;
  if (b.opset >= inputFromOpset) {
    const name = node.input[1];
    if (name) {
      const t = ctx.constant(name);
      if (!t) {
        throw new CamscopeError(
          "UNSUPPORTED_OP",
          `${node.op_type} node "${node.name ?? ""}" computes its axes at run time; camscope needs constant axes`,
        );
      }
      axes = tensorNumbers(t);
    }
    const noop = attrInt(node, "noop_with_empty_axes", 0) === 1;
    if (noop && (!axes || axes.length === 0)) return undefined;
  } else {
    axes = attrInts(node, "axes");
  }
  if (!axes || axes.length === 0) return Array.from({ length: rank }, (_, a) => a);
  return [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

/** A reduced value (the output or its gradient) with the reduced axes restored as size 1. */
function keptDims(ctx: RuleContext, value: string, axes: readonly number[]): string {
  return attrInt(ctx.node, "keepdims", 1) === 1 ? value : ctx.b.unsqueeze(value, axes);
}

function reductionRule(
  op: string,
  inputFromOpset: number,
  grad: (ctx: RuleContext, axes: number[], dy: string) => string,
): OpRule {
  return {
    op,
    rule: (ctx) => {
      const axes = reducedAxes(ctx, inputFromOpset);
      const dy = ctx.gradOut()!;
      ctx.setGrad(0, axes ? grad(ctx, axes, keptDims(ctx, dy, axes)) : dy);
    },
  };
}

// Sum: every input element receives its reduced position's gradient.
export const reduceSum = reductionRule("ReduceSum", 13, (ctx, _axes, dy) =>
  ctx.b.op("Expand", [dy, ctx.b.shape(ctx.node.input[0]!)]),
);

// Mean: the same, divided by the number of reduced elements (static, unless over the batch).
export const reduceMean = reductionRule("ReduceMean", 18, (ctx, axes, dy) => {
  const { b, node } = ctx;
  const x = node.input[0]!;
  if (axes.includes(0) && ctx.isBatched(x)) {
    throw new CamscopeError(
      "UNSUPPORTED_OP",
      `ReduceMean node "${node.name ?? ""}" averages over the batch axis; camscope needs samples to stay independent`,
    );
  }
  const dims = ctx.dims(x);
  const count = axes.reduce((n, a) => n * dims[a]!, 1);
  return b.op("Expand", [b.mul(dy, b.scalar(1 / count)), b.shape(x)]);
});

// Max: the gradient is split evenly among the elements equal to the maximum (as torch.amax does).
export const reduceMax = reductionRule("ReduceMax", 18, (ctx, axes, dy) => {
  const { b, node } = ctx;
  const x = node.input[0]!;
  const isMax = b.mask("Equal", x, keptDims(ctx, node.output[0]!, axes));
  const ties = b.reduceSum(isMax, axes, true);
  return b.mul(isMax, b.op("Div", [dy, ties]));
});
