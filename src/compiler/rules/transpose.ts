import { attrInts } from "../../onnx/attributes.ts";
import type { OpRule } from "../rule.ts";

// Y = transpose(X, perm) moves X's axis perm[i] to position i; the gradient moves it back with
// the inverse permutation (default perm: the axes reversed, its own inverse).
export const transpose: OpRule = {
  op: "Transpose",
  rule: (ctx) => {
    const { b, node } = ctx;
    const rank = ctx.dims(node.input[0]!).length;
    const perm = attrInts(node, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    ctx.setGrad(0, b.op("Transpose", [ctx.gradOut()!], { perm: inverse }));
  },
};
