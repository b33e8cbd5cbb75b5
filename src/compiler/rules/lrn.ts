import { attrFloat, attrInt } from "../../onnx/attributes.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/**
 * Sum over the channel window [c - before, c + after] (clipped at the ends) of a value shaped like
 * the LRN input [N, C, ...]: the channels become the height of a one-channel image whose width is
 * every spatial position, summed by a Conv with a ones kernel of height before + after + 1.
 */
function channelWindowSum(ctx: RuleContext, v: string, before: number, after: number): string {
  const { b } = ctx;
  const channels = ctx.dims(ctx.node.input[0]!)[1]!;
  const column = b.op("Reshape", [v, b.int64s([0, 1, channels, -1])]);
  const size = before + after + 1;
  const ones = b.floats(new Float32Array(size).fill(1), [1, 1, size, 1], "lrn_window");
  const summed = b.op("Conv", [column, ones], { pads: [before, 0, after, 0] });
  return b.reshapeLike(summed, v);
}

// LRN (AlexNet, CaffeNet, GoogLeNet v1): y = x d^-beta with d = bias + alpha / size * S and S the
// sum of x^2 over the window [c - floor((size-1)/2), c + ceil((size-1)/2)]. Then
//   dX_j = dY_j d_j^-beta - 2 alpha beta / size * x_j * sum_{i: j in window(i)} dY_i x_i d_i^(-beta-1),
// where j lies in window(i) exactly when i lies in the mirrored window around j.
export const lrn: OpRule = {
  op: "LRN",
  rule: (ctx) => {
    const { b, node } = ctx;
    const x = node.input[0]!;
    const size = attrInt(node, "size", 1);
    const alpha = attrFloat(node, "alpha", 1e-4);
    const beta = attrFloat(node, "beta", 0.75);
    const bias = attrFloat(node, "bias", 1);
    const before = Math.floor((size - 1) / 2);
    const after = Math.ceil((size - 1) / 2);
    const g = ctx.gradOut()!;
    const window = channelWindowSum(ctx, b.mul(x, x), before, after);
    const d = b.add(b.mul(window, b.scalar(alpha / size)), b.scalar(bias));
    const scaled = b.op("Pow", [d, b.scalar(-beta)]);
    const direct = b.mul(g, scaled);
    const spread = b.op("Div", [b.mul(b.mul(g, x), scaled), d]);
    const back = channelWindowSum(ctx, spread, after, before);
    const cross = b.mul(b.mul(x, back), b.scalar((2 * alpha * beta) / size));
    ctx.setGrad(0, b.op("Sub", [direct, cross]));
  },
};
