import { DataType } from "../../onnx/proto.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// y = a^e (broadcasting). dy/da = e a^(e-1), and dy/de = y ln a where the exponent itself is an
// activation. Exporters write x^2 (decomposed LayerNorm, variances) with a constant exponent:
// its e and e - 1 are folded into constants, and where e = 0 the derivative is 0 (as PyTorch's),
// not 0 * a^-1, which is NaN at a = 0.
export const pow: OpRule = {
  op: "Pow",
  rule: (ctx) => {
    const { b, node } = ctx;
    const [a, e] = node.input as [string, string];
    const y = node.output[0]!;
    const g = ctx.gradOut()!;
    if (ctx.needsGrad(0)) {
      const t = ctx.constant(e);
      let derivative: string;
      if (t) {
        const values = tensorNumbers(t);
        const dims = t.dims ?? [];
        derivative = values.every((v) => v === 2)
          ? b.add(a, a)
          : b.mul(
              b.floats(values, dims, "pow_exponent"),
              b.op("Pow", [
                a,
                b.floats(
                  values.map((v) => (v === 0 ? 0 : v - 1)),
                  dims,
                  "pow_exponent",
                ),
              ]),
            );
      } else {
        // An exponent computed at run time may be an integer tensor (Pow-12 allows any numeric type).
        const exponent = ctx.needsGrad(1) ? e : b.op("Cast", [e], { to: DataType.FLOAT });
        const zero = b.mask("Equal", exponent, b.scalar(0));
        const less = b.op("Sub", [exponent, b.op("Sub", [b.scalar(1), zero])]);
        derivative = b.mul(exponent, b.op("Pow", [a, less]));
      }
      ctx.setGrad(0, unbroadcast(ctx, b.mul(g, derivative), a, y));
    }
    if (ctx.needsGrad(1)) {
      ctx.setGrad(1, unbroadcast(ctx, b.mul(g, b.mul(y, b.op("Log", [a]))), e, y));
    }
  },
};
