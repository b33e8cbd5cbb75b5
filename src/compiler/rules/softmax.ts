import { attrInt } from "../../onnx/attributes.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/**
 * The normalised axes. From opset 13 that is the one `axis` (default -1); before, (log-)softmax
 * coerces its input to 2-D at `axis` (default 1) and normalises over the flattened trailing dims,
 * i.e. over axes axis..r-1.
 */
function normalisedAxes(ctx: RuleContext): number[] {
  const { b, node } = ctx;
  const y = node.output[0]!;
  const rank = ctx.dims(y).length;
  const axis = attrInt(node, "axis", b.opset >= 13 ? -1 : 1);
  const first = axis < 0 ? axis + rank : axis;
  const axes = b.opset >= 13 ? [first] : Array.from({ length: rank - first }, (_, k) => first + k);
  if (axes.some((a) => ctx.batchAxes(y).includes(a))) {
    throw ctx.unsupported(
      "it normalises over the batch axis; camscope needs samples to stay independent",
    );
  }
  return axes;
}

// Softmax: dx = y * (g - sum(g * y)) with the sum over the normalised axes, kept for broadcasting.
export const softmax: OpRule = {
  op: "Softmax",
  rule: (ctx) => {
    const { b, node } = ctx;
    const y = node.output[0]!;
    const g = ctx.gradOut()!;
    const dot = b.reduceSum(b.mul(g, y), normalisedAxes(ctx), true);
    ctx.setGrad(0, b.mul(y, b.op("Sub", [g, dot])));
  },
};

// LogSoftmax: y = x - logsumexp(x), so dx = g - exp(y) * sum(g) over the normalised axes.
export const logSoftmax: OpRule = {
  op: "LogSoftmax",
  rule: (ctx) => {
    const { b, node } = ctx;
    const g = ctx.gradOut()!;
    const total = b.reduceSum(g, normalisedAxes(ctx), true);
    ctx.setGrad(0, b.op("Sub", [g, b.mul(b.op("Exp", [node.output[0]!]), total)]));
  },
};
