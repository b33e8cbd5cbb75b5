import { attrFloat, attrInt } from "../../onnx/attributes.ts";
import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// LayerNormalization-17: over the axes axis..r-1, xhat = (x - mean) * r with
// r = 1 / sqrt(var + epsilon) (biased variance), y = xhat * scale + bias. With gs = dY * scale and
// means over those axes, dX = r * (gs - mean(gs) - xhat * mean(gs * xhat)), dScale and dBias are
// dY * xhat and dY summed over the axes they were broadcast along. The statistics are recomputed
// here (the node's optional Mean and InvStdDev outputs are not part of the forward graph's
// contract), in float32 as ONNX Runtime computes them.
export const layerNormalization: OpRule = {
  op: "LayerNormalization",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [x, scale, bias] = node.input as [string, string, string | undefined];
    const y = node.output[0]!;
    if (ctx.gradOut(1) || ctx.gradOut(2)) {
      throw ctx.unsupported(
        "its Mean or InvStdDev output is used downstream; camscope differentiates only its normalised output",
      );
    }
    const rank = ctx.dims(x).length;
    const raw = attrInt(node, "axis", -1);
    const first = raw < 0 ? raw + rank : raw;
    const axes = Array.from({ length: rank - first }, (_, k) => first + k);
    if (axes.some((a) => ctx.batchAxes(x).includes(a))) {
      throw ctx.unsupported(
        "it normalises over the batch axis; camscope needs samples to stay independent",
      );
    }
    const g = ctx.gradOut()!;
    const centred = b.op("Sub", [x, b.reduceMean(x, axes, true)]);
    const variance = b.reduceMean(b.mul(centred, centred), axes, true);
    const epsilon = b.scalar(attrFloat(node, "epsilon", 1e-5));
    const r = b.op("Reciprocal", [b.op("Sqrt", [b.add(variance, epsilon)])]);
    const xhat = b.mul(centred, r);
    if (ctx.needsGrad(0)) {
      const gs = b.mul(g, scale);
      const inner = b.op("Sub", [
        b.op("Sub", [gs, b.reduceMean(gs, axes, true)]),
        b.mul(xhat, b.reduceMean(b.mul(gs, xhat), axes, true)),
      ]);
      ctx.setGrad(0, b.mul(r, inner));
    }
    if (ctx.needsGrad(1)) ctx.setGrad(1, unbroadcast(ctx, b.mul(g, xhat), scale, y));
    if (bias && ctx.needsGrad(2)) ctx.setGrad(2, unbroadcast(ctx, g, bias, y));
  },
};
