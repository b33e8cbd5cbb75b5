// The LN-rule of conservative LRP for transformers (Ali et al., ICML 2022; docs/lrp-rules.md,
// "LayerNorm"): LayerNormalization with its normalising scale 1 / sigma held constant is the affine
// map y = gamma * (x - mean(x)) / sigma + beta, and relevance goes back through it by LRP-0 with
// the bias absorbing its share: R_x = x * (g - mean(g)), g = gamma * sdiv(R, y) / sigma, the means
// over the normalised axes. (The opset-13 decomposition reaches the same values node by node: the
// bias Add, Mul by gamma, Div by sigma, Sub of the mean and ReduceMean rules compose to this.)
import { attrFloat, attrInt } from "../../onnx/attributes.ts";
import type { Rule } from "../rule.ts";
import { safeDivide } from "./divide.ts";

export const layerNormalization: Rule = (ctx) => {
  const { node, b } = ctx;
  const [x, scale] = node.input as [string, string];
  const dims = ctx.dims(x);
  const rank = dims.length;
  const raw = attrInt(node, "axis", -1);
  const axis = raw < 0 ? raw + rank : raw;
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  if (axes.some((a) => ctx.batchAxes(x).includes(a))) {
    throw ctx.unsupported(
      "it normalises over the batch axis; camscope needs samples to stay independent",
    );
  }
  const count = axes.reduce((n, a) => n * dims[a]!, 1);
  const mean = (v: string) => b.mul(b.reduceSum(v, axes, true), b.scalar(1 / count));
  const centred = b.op("Sub", [x, mean(x)]);
  const variance = mean(b.mul(centred, centred));
  const eps = attrFloat(node, "epsilon", 1e-5);
  const inverseSigma = b.op("Reciprocal", [b.op("Sqrt", [b.add(variance, b.scalar(eps))])]);
  const g = b.mul(b.mul(safeDivide(b, ctx.gradOut()!, node.output[0]!), scale), inverseSigma);
  ctx.setGrad(0, b.mul(x, b.op("Sub", [g, mean(g)])));
};
