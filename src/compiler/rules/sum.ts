import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// Variadic broadcasting addition: each input receives the output gradient reduced to its shape.
export const sum: OpRule = {
  op: "Sum",
  rule: (ctx) => {
    const y = ctx.node.output[0]!;
    ctx.node.input.forEach((input, k) => {
      if (ctx.needsGrad(k)) ctx.setGrad(k, unbroadcast(ctx, ctx.gradOut()!, input, y));
    });
  },
};
