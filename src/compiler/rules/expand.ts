import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// Expand broadcasts its input to a shape; the gradient sums the repeated copies back.
export const expand: OpRule = {
  op: "Expand",
  rule: (ctx) => {
    const { node } = ctx;
    ctx.setGrad(0, unbroadcast(ctx, ctx.gradOut()!, node.input[0]!, node.output[0]!));
  },
};
