import type { OpRule } from "../rule.ts";

// erf'(x) = 2/sqrt(pi) exp(-x^2), computed as exp(ln(2/sqrt(pi)) - x^2) to fold the constant in.
const LOG_SCALE = Math.log(2 / Math.sqrt(Math.PI));

export const erf: OpRule = {
  op: "Erf",
  rule: (ctx) => {
    const { b } = ctx;
    const x = ctx.node.input[0]!;
    const derivative = b.op("Exp", [b.op("Sub", [b.scalar(LOG_SCALE), b.mul(x, x)])]);
    ctx.setGrad(0, b.mul(ctx.gradOut()!, derivative));
  },
};
