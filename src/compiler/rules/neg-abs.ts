import type { OpRule } from "../rule.ts";

export const neg: OpRule = {
  op: "Neg",
  rule: (ctx) => ctx.setGrad(0, ctx.b.op("Neg", [ctx.gradOut()!])),
};

// abs' = Sign(x), 0 at x = 0 as in PyTorch.
export const abs: OpRule = {
  op: "Abs",
  rule: (ctx) => ctx.setGrad(0, ctx.b.mul(ctx.gradOut()!, ctx.b.op("Sign", [ctx.node.input[0]!]))),
};
