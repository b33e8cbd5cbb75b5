// Every CAM method works on feature maps [N, C, h, w]. Channels-last grids and token sequences
// (see onnx/layouts.ts) are viewed that way here: a transpose, or, for tokens, the class and
// distillation tokens dropped and the patch tokens laid back on their grid (the reshape transform
// pytorch-grad-cam users write by hand for ViT and Swin).
import type { LayerInfo } from "../onnx/layers.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** A layer's value [N, ...valueDims] as [N, C, h, w] (the same tensor for channels-first layers). */
export function channelsFirst(layer: LayerInfo, t: FloatTensor): FloatTensor {
  if (layer.layout === "NCHW") return t;
  const n = t.dims[0]!;
  const [, c, h, w] = layer.dims as [number, number, number, number];
  const area = h * w;
  const out = new Float32Array(n * c * area);
  // Channels-last grids and tokens both store position p's channels contiguously; tokens start
  // after the prefix.
  const skip = layer.layout === "tokens" ? (layer.prefixTokens ?? 0) : 0;
  const perSample = (skip + area) * c;
  for (let s = 0; s < n; s++) {
    const src = s * perSample + skip * c;
    const dst = s * c * area;
    for (let p = 0; p < area; p++) {
      for (let k = 0; k < c; k++) out[dst + k * area + p] = t.data[src + p * c + k]!;
    }
  }
  return { data: out, dims: [n, c, h, w] };
}
