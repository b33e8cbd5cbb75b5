import type { OpRule } from "../rule.ts";

// d relu(x)/dx = 1 where the output is positive: Sign(y) is that 0/1 mask in one cheap op.
export const relu: OpRule = {
  op: "Relu",
  rule: (ctx) => {
    const y = ctx.node.output[0]!;
    ctx.setGrad(0, ctx.b.mul(ctx.gradOut()!, ctx.b.op("Sign", [y])));
  },
};
