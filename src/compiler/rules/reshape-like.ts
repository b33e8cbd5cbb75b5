import type { OpRule, Rule } from "../rule.ts";

// Ops that only rearrange the shape: the gradient is the output gradient in the input's shape.
const reshapeBack: Rule = (ctx) =>
  ctx.setGrad(0, ctx.b.reshapeLike(ctx.gradOut()!, ctx.node.input[0]!));

export const flatten: OpRule = { op: "Flatten", rule: reshapeBack };
export const reshape: OpRule = { op: "Reshape", rule: reshapeBack };
export const squeeze: OpRule = { op: "Squeeze", rule: reshapeBack };
export const unsqueeze: OpRule = { op: "Unsqueeze", rule: reshapeBack };
