import { attrFloat, hasAttr } from "../../onnx/attributes.ts";
import { DataType } from "../../onnx/proto.ts";
import type { RuleContext, OpRule } from "../rule.ts";

/** The clip bounds as value names (inputs from opset 11, attributes before), absent if unbounded. */
export function clipBounds(ctx: RuleContext): { min?: string; max?: string } {
  const { node, b } = ctx;
  if (b.opset >= 11) {
    const min = node.input[1] || undefined;
    const max = node.input[2] || undefined;
    return { ...(min ? { min } : {}), ...(max ? { max } : {}) };
  }
  return {
    ...(hasAttr(node, "min") ? { min: b.scalar(attrFloat(node, "min", 0)) } : {}),
    ...(hasAttr(node, "max") ? { max: b.scalar(attrFloat(node, "max", 0)) } : {}),
  };
}

/**
 * The 0/1 mask where min < y < max, strictly, as PyTorch's hardtanh/ReLU6 backward has it (Clip
 * comes from ReLU6 exports). Comparisons joined by And, then one Cast: measured faster in ONNX
 * Runtime than Sign-based masks.
 */
export function clipPassMask(ctx: RuleContext): string | undefined {
  const { b } = ctx;
  const y = ctx.node.output[0]!;
  const { min, max } = clipBounds(ctx);
  const lower = min ? b.op("Greater", [y, min]) : undefined;
  const upper = max ? b.op("Less", [y, max]) : undefined;
  const pass = lower && upper ? b.op("And", [lower, upper]) : (lower ?? upper);
  return pass ? b.op("Cast", [pass], { to: DataType.FLOAT }) : undefined;
}

export const clip: OpRule = {
  op: "Clip",
  rule: (ctx) => {
    const mask = clipPassMask(ctx);
    ctx.setGrad(0, mask ? ctx.b.mul(ctx.gradOut()!, mask) : ctx.gradOut()!);
  },
};
