import { attrFloat } from "../../onnx/attributes.ts";
import type { OpRule } from "../rule.ts";

// y = clamp(alpha x + beta, 0, 1). PyTorch's hardsigmoid backward passes alpha times the gradient
// strictly inside the ramp, 0 < y < 1, and 0 at and beyond its ends. On [0, 1], y - y*y = y (1 - y)
// is positive exactly there and 0 at both ends (also in float32: y*y rounds below y for every
// float y in (0, 1)), so its Sign is the mask.
export const hardSigmoid: OpRule = {
  op: "HardSigmoid",
  rule: (ctx) => {
    const { b, node } = ctx;
    const y = node.output[0]!;
    const alpha = attrFloat(node, "alpha", 0.2);
    const inside = b.op("Sign", [b.op("Sub", [y, b.mul(y, y)])]);
    ctx.setGrad(0, b.mul(b.mul(ctx.gradOut()!, inside), b.scalar(alpha)));
  },
};

// y = x h(x), h(x) = clamp(x/6 + 1/2, 0, 1). PyTorch's hardswish backward is 0 for x < -3,
// x/3 + 1/2 on the closed interval [-3, 3] and 1 above: h(x) + x/6 on [-3, 3], h(x) outside.
// x - Shrink(x, lambd = 3) is x on [-3, 3] (Shrink zeroes |x| <= lambd) and 0 outside.
export const hardSwish: OpRule = {
  op: "HardSwish",
  rule: (ctx) => {
    const { b } = ctx;
    const x = ctx.node.input[0]!;
    const h = b.op("HardSigmoid", [x], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
    const inner = b.op("Sub", [x, b.op("Shrink", [x], { lambd: { float: 3 } })]);
    const derivative = b.add(h, b.mul(inner, b.scalar(1 / 6)));
    ctx.setGrad(0, b.mul(ctx.gradOut()!, derivative));
  },
};
