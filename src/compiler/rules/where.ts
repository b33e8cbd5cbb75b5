import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// y = where(condition, a, b): a receives the gradient where the condition holds, b elsewhere, each
// reduced to its own shape. The boolean condition carries no gradient. Where (not a multiply by a
// cast mask) keeps an infinite gradient on one side from making NaN on the other, as PyTorch's.
export const where: OpRule = {
  op: "Where",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [condition, a, other] = node.input as [string, string, string];
    const y = node.output[0]!;
    const g = ctx.gradOut()!;
    const zero = b.scalar(0);
    if (ctx.needsGrad(1)) {
      ctx.setGrad(1, unbroadcast(ctx, b.op("Where", [condition, g, zero]), a, y));
    }
    if (ctx.needsGrad(2)) {
      ctx.setGrad(2, unbroadcast(ctx, b.op("Where", [condition, zero, g]), other, y));
    }
  },
};
