import { attrInt } from "../../onnx/attributes.ts";
import type { OpRule } from "../rule.ts";

// dx = y * (g - sum(g * y)) with the sum over the softmax axes, kept for broadcasting. From
// opset 13 that is the one `axis` (default -1); before, softmax coerces its input to 2-D at
// `axis` (default 1) and normalises over the flattened trailing dims, i.e. over axes axis..r-1.
export const softmax: OpRule = {
  op: "Softmax",
  rule: (ctx) => {
    const { b, node } = ctx;
    const y = node.output[0]!;
    const g = ctx.gradOut()!;
    const rank = ctx.dims(y).length;
    const axis = attrInt(node, "axis", b.opset >= 13 ? -1 : 1);
    const first = axis < 0 ? axis + rank : axis;
    const axes =
      b.opset >= 13 ? [first] : Array.from({ length: rank - first }, (_, k) => first + k);
    const dot = b.reduceSum(b.mul(g, y), axes, true);
    ctx.setGrad(0, b.mul(y, b.op("Sub", [g, dot])));
  },
};
