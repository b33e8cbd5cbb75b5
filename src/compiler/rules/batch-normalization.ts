import { attrFloat, attrInt } from "../../onnx/attributes.ts";
import { tensorData } from "../../onnx/tensor.ts";
import type { OpRule } from "../rule.ts";

// Inference BatchNormalization is the per-channel affine map y = x * scale / sqrt(var + eps) + c,
// so the gradient is the output gradient times that per-channel factor.
export const batchNormalization: OpRule = {
  op: "BatchNormalization",
  rule: (ctx) => {
    const { node, b } = ctx;
    if (attrInt(node, "training_mode", 0) === 1) {
      throw ctx.unsupported("it is in training mode (batch statistics mix the samples)");
    }
    const [x, scale, , , variance] = node.input as [string, string, string, string, string];
    const eps = attrFloat(node, "epsilon", 1e-5);
    const spatial = ctx.dims(x).length - 2;
    const s = ctx.constant(scale);
    const v = ctx.constant(variance);
    let factor: string;
    if (s && v) {
      const sd = tensorData(s) as Float32Array;
      const vd = tensorData(v) as Float32Array;
      // Computed as ONNX Runtime does (float32 arithmetic), to stay within float32 of the forward.
      const f = sd.map((si, c) => si / Math.fround(Math.sqrt(Math.fround(vd[c]! + eps))));
      factor = b.floats(f, [f.length, ...new Array<number>(spatial).fill(1)], "bn_factor");
    } else {
      const std = b.op("Sqrt", [b.add(variance, b.scalar(eps))]);
      factor = b.unsqueeze(
        b.op("Div", [scale, std]),
        Array.from({ length: spatial }, (_, k) => k + 1),
      );
    }
    ctx.setGrad(0, b.mul(ctx.gradOut()!, factor));
  },
};
