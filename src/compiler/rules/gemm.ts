import { attrFloat, attrInt } from "../../onnx/attributes.ts";
import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// Y = alpha * op(A) op(B) + beta * C, op = optional transpose.
export const gemm: OpRule = {
  op: "Gemm",
  rule: (ctx) => {
    const { node, b } = ctx;
    const [a, bm, c] = node.input as [string, string, string | undefined];
    const alpha = attrFloat(node, "alpha", 1);
    const beta = attrFloat(node, "beta", 1);
    const transA = attrInt(node, "transA", 0);
    const transB = attrInt(node, "transB", 0);
    const dy = ctx.gradOut()!;
    const scale = { alpha: { float: alpha } };
    if (ctx.needsGrad(0)) {
      // d op(A) = alpha dY op(B)^T; dA is that, transposed back when transA.
      const grad =
        transA === 0
          ? b.op("Gemm", [dy, bm], { ...scale, transB: 1 - transB })
          : b.op("Gemm", [bm, dy], { ...scale, transA: transB, transB: 1 });
      ctx.setGrad(0, grad);
    }
    if (ctx.needsGrad(1)) {
      // d op(B) = alpha op(A)^T dY; dB is that, transposed back when transB.
      const grad =
        transB === 0
          ? b.op("Gemm", [a, dy], { ...scale, transA: 1 - transA })
          : b.op("Gemm", [dy, a], { ...scale, transA: 1, transB: transA });
      ctx.setGrad(1, grad);
    }
    if (c && ctx.needsGrad(2)) {
      const scaled = beta === 1 ? dy : b.mul(dy, b.scalar(beta));
      ctx.setGrad(2, unbroadcast(ctx, scaled, c, node.output[0]!));
    }
  },
};
