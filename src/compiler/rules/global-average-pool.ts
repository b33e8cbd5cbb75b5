import type { OpRule } from "../rule.ts";
import { sizeOf } from "../../tensor/tensor.ts";

// Every input position receives 1/(H*W) of its channel's output gradient.
export const globalAveragePool: OpRule = {
  op: "GlobalAveragePool",
  rule: (ctx) => {
    const x = ctx.node.input[0]!;
    const area = sizeOf(ctx.dims(x).slice(2));
    const scaled = ctx.b.mul(ctx.gradOut()!, ctx.b.scalar(1 / area));
    ctx.setGrad(0, ctx.b.op("Expand", [scaled, ctx.b.shape(x)]));
  },
};
