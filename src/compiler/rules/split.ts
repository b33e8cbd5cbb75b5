import { attrInt } from "../../onnx/attributes.ts";
import type { OpRule } from "../rule.ts";

// The input's gradient is the outputs' gradients concatenated back along the split axis, zeros
// for outputs nothing downstream uses. The outputs' sizes are not needed, so every form of the
// split sizes (attribute, input, equal parts, num_outputs) is handled alike.
export const split: OpRule = {
  op: "Split",
  rule: (ctx) => {
    const { b, node } = ctx;
    const rank = ctx.dims(node.input[0]!).length;
    const raw = attrInt(node, "axis", 0);
    const parts = node.output.map((o, k) => ctx.gradOut(k) ?? b.zerosLike(o));
    ctx.setGrad(
      0,
      parts.length === 1 ? parts[0]! : b.op("Concat", parts, { axis: raw < 0 ? raw + rank : raw }),
    );
  },
};
