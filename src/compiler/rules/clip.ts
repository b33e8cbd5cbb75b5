import { attrFloat, hasAttr } from "../../onnx/attributes.ts";
import type { RuleContext, OpRule } from "../rule.ts";

/** The clip bounds as value names (inputs from opset 11, attributes before), absent if unbounded. */
export function clipBounds(ctx: RuleContext): { min?: string; max?: string } {
  const { node, b } = ctx;
  if (node.input.length > 1 || !hasAttr(node, "min")) {
    const min = node.input[1] || undefined;
    const max = node.input[2] || undefined;
    return { ...(min ? { min } : {}), ...(max ? { max } : {}) };
  }
  return {
    min: b.scalar(attrFloat(node, "min", -3.4028234663852886e38)),
    ...(hasAttr(node, "max") ? { max: b.scalar(attrFloat(node, "max", 0)) } : {}),
  };
}

/**
 * The 0/1 mask where min < y < max, strictly, as PyTorch's hardtanh/ReLU6 backward has it (Clip
 * comes from ReLU6 exports). Sign(y - min) is exactly 0 only at y == min, so no comparison op.
 */
export function clipPassMask(ctx: RuleContext): string | undefined {
  const { b } = ctx;
  const y = ctx.node.output[0]!;
  const { min, max } = clipBounds(ctx);
  const lower = min ? b.op("Sign", [b.op("Sub", [y, min])]) : undefined;
  const upper = max ? b.op("Sign", [b.op("Sub", [max, y])]) : undefined;
  if (lower && upper) return b.mul(lower, upper);
  return lower ?? upper;
}

export const clip: OpRule = {
  op: "Clip",
  rule: (ctx) => {
    const mask = clipPassMask(ctx);
    ctx.setGrad(0, mask ? ctx.b.mul(ctx.gradOut()!, mask) : ctx.gradOut()!);
  },
};
