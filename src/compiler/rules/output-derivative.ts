import type { OpRule, Rule, RuleContext } from "../rule.ts";

// Unary ops whose derivative is a cheap function of their output y, so the rule reads y rather
// than recomputing anything from x.

/** A rule multiplying the output gradient by `derivative(y)`. */
function fromOutput(derivative: (ctx: RuleContext, y: string) => string): Rule {
  return (ctx) => ctx.setGrad(0, ctx.b.mul(ctx.gradOut()!, derivative(ctx, ctx.node.output[0]!)));
}

// sigmoid' = y (1 - y)
export const sigmoid: OpRule = {
  op: "Sigmoid",
  rule: fromOutput(({ b }, y) => b.mul(y, b.op("Sub", [b.scalar(1), y]))),
};

// tanh' = 1 - y^2
export const tanh: OpRule = {
  op: "Tanh",
  rule: fromOutput(({ b }, y) => b.op("Sub", [b.scalar(1), b.mul(y, y)])),
};

// exp' = y
export const exp: OpRule = { op: "Exp", rule: fromOutput((_, y) => y) };

// (1/x)' = -1/x^2 = -y^2
export const reciprocal: OpRule = {
  op: "Reciprocal",
  rule: fromOutput(({ b }, y) => b.op("Neg", [b.mul(y, y)])),
};

// sqrt' = 1 / (2 y): the output gradient divided by y + y (infinite at x = 0, as in PyTorch).
export const sqrt: OpRule = {
  op: "Sqrt",
  rule: (ctx) => {
    const y = ctx.node.output[0]!;
    ctx.setGrad(0, ctx.b.op("Div", [ctx.gradOut()!, ctx.b.add(y, y)]));
  },
};
