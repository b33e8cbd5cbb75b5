import { attrFloat } from "../../onnx/attributes.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import { unbroadcast } from "../broadcast.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/**
 * The input gradient of y = x for x > 0, slope * x otherwise: the output gradient where x > 0 and
 * slope times it elsewhere, x = 0 included (PyTorch's leaky_relu and prelu backward).
 * `slopeInUnit` says every slope value is known to lie in [0, 1]; `oneMinusSlope` makes 1 - slope.
 */
function inputGradient(
  ctx: RuleContext,
  slope: string,
  slopeInUnit: boolean,
  oneMinusSlope: () => string,
): string {
  const { b } = ctx;
  const x = ctx.node.input[0]!;
  const g = ctx.gradOut()!;
  // Sign(x) is 1, 0 or -1, so its Max with a slope in [0, 1] is 1 for x > 0 and the slope
  // otherwise (Sign and a broadcasting Max need opset 9).
  if (slopeInUnit && b.opset >= 9) return b.mul(g, b.op("Max", [b.op("Sign", [x]), slope]));
  // slope + [x > 0] (1 - slope)
  const positive = b.mask("Greater", x, b.scalar(0));
  return b.mul(g, b.add(slope, b.mul(positive, oneMinusSlope())));
}

export const leakyRelu: OpRule = {
  op: "LeakyRelu",
  rule: (ctx) => {
    const alpha = attrFloat(ctx.node, "alpha", 0.01);
    const grad = inputGradient(ctx, ctx.b.scalar(alpha), alpha >= 0 && alpha <= 1, () =>
      ctx.b.scalar(1 - alpha),
    );
    ctx.setGrad(0, grad);
  },
};

// The slope broadcasts to x. Its own gradient (when it is computed from a requested value) is the
// output gradient times x where x <= 0, i.e. times x - Relu(x), summed over the broadcast axes.
export const pRelu: OpRule = {
  op: "PRelu",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [x, slope] = node.input as [string, string];
    if (ctx.needsGrad(0)) {
      const constant = ctx.constant(slope);
      const unit = constant !== undefined && tensorNumbers(constant).every((s) => s >= 0 && s <= 1);
      ctx.setGrad(
        0,
        inputGradient(ctx, slope, unit, () => b.op("Sub", [b.scalar(1), slope])),
      );
    }
    if (ctx.needsGrad(1)) {
      const nonPositive = b.op("Sub", [x, b.op("Relu", [x])]);
      ctx.setGrad(1, unbroadcast(ctx, b.mul(ctx.gradOut()!, nonPositive), slope, node.output[0]!));
    }
  },
};
