import type { OpRule, RuleContext } from "../rule.ts";

/**
 * The 0/1 mask where a Relu's output is positive (PyTorch's derivative: 0 at x = 0). A Cast
 * comparison measured faster in ONNX Runtime than Sign(y) or Where.
 */
export function reluMask(ctx: RuleContext): string {
  return ctx.b.mask("Greater", ctx.node.output[0]!, ctx.b.scalar(0));
}

export const relu: OpRule = {
  op: "Relu",
  rule: (ctx) => ctx.setGrad(0, ctx.b.mul(ctx.gradOut()!, reluMask(ctx))),
};
