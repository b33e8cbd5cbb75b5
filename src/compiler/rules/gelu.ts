import { attrString } from "../../onnx/attributes.ts";
import type { OpRule } from "../rule.ts";

// Gelu-20. Exact (approximate = "none"): y = x Phi(x), y' = Phi(x) + x phi(x) with
// Phi(x) = (1 + erf(x / sqrt 2)) / 2 and phi(x) = exp(-x^2 / 2) / sqrt(2 pi), computed as
// exp(ln(1 / sqrt(2 pi)) - x^2 / 2) to fold the constant in.
// Tanh approximation: y = x (1 + t) / 2 with t = tanh(u), u = k (x + c x^3), k = sqrt(2 / pi),
// c = 0.044715; y' = (1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2.
const LOG_PDF_SCALE = -0.5 * Math.log(2 * Math.PI);
const K = Math.sqrt(2 / Math.PI);
const C = 0.044715;

export const gelu: OpRule = {
  op: "Gelu",
  rule: (ctx) => {
    const { b, node } = ctx;
    const x = node.input[0]!;
    const mode = attrString(node, "approximate", "none");
    const square = b.mul(x, x);
    let derivative: string;
    if (mode === "tanh") {
      const u = b.mul(b.mul(x, b.add(b.mul(square, b.scalar(C)), b.scalar(1))), b.scalar(K));
      const t = b.op("Tanh", [u]);
      const half = b.mul(b.add(t, b.scalar(1)), b.scalar(0.5));
      const du = b.mul(b.add(b.mul(square, b.scalar(3 * C)), b.scalar(1)), b.scalar(K / 2));
      const sech2 = b.op("Sub", [b.scalar(1), b.mul(t, t)]);
      derivative = b.add(half, b.mul(b.mul(x, sech2), du));
    } else if (mode === "none") {
      const cdf = b.mul(
        b.add(b.op("Erf", [b.mul(x, b.scalar(Math.SQRT1_2))]), b.scalar(1)),
        b.scalar(0.5),
      );
      const pdf = b.op("Exp", [
        b.op("Sub", [b.scalar(LOG_PDF_SCALE), b.mul(square, b.scalar(0.5))]),
      ]);
      derivative = b.add(cdf, b.mul(x, pdf));
    } else {
      throw ctx.unsupported(`its approximate attribute is "${mode}"; ONNX defines none and tanh`);
    }
    ctx.setGrad(0, b.mul(ctx.gradOut()!, derivative));
  },
};
