// LRP rules of products and quotients of activations (docs/lrp-rules.md, "Gates and
// normalisation", "Attention"): a factor that is a constant, a gate or a divisor counts as a
// constant weight, so the relevance of an elementwise product or quotient passes unchanged to the
// signal; a matrix product of attention weights and values (the AH-rule) is a linear layer with
// the attention weights as its weights, whose relevance goes to the values in proportion to their
// contributions.
import { unbroadcast } from "../broadcast.ts";
import type { Rule, RuleContext } from "../rule.ts";
import { matMul } from "../rules/matmul.ts";
import { safeDivide } from "./divide.ts";
import type { GateFinder } from "./gates.ts";
import { gradientOf } from "./gradient-of.ts";

/** All of the output's relevance to input k (summed over the axes k was broadcast along). */
function passTo(ctx: RuleContext, k: number): void {
  const { node } = ctx;
  if (ctx.needsGrad(k)) {
    ctx.setGrad(k, unbroadcast(ctx, ctx.gradOut()!, node.input[k]!, node.output[0]!));
  }
}

/** The input of a product of two activations that is the signal (the other is the gate). */
function signalOf(ctx: RuleContext, gates: GateFinder): number {
  const decision = gates.gateOf(ctx.node);
  if ("why" in decision) throw ctx.unsupported(decision.why);
  return 1 - decision.gate;
}

/** Mul: by a constant, or a signal by a gate: the relevance stays with the (signal) activation. */
export function mulRule(gates: GateFinder): Rule {
  return (ctx) => {
    const batched = ctx.node.input.flatMap((x, k) => (ctx.isBatched(x) ? [k] : []));
    passTo(ctx, batched.length === 1 ? batched[0]! : signalOf(ctx, gates));
  };
}

/** Div: the divisor, constant or computed (a normalisation), is a weight; the dividend keeps R. */
export const divRule: Rule = (ctx) => {
  if (!ctx.isBatched(ctx.node.input[0]!)) {
    throw ctx.unsupported("it divides a constant by an activation, which LRP has no rule for");
  }
  passTo(ctx, 0);
};

/**
 * MatMul of two activations, one of them a gate (attention weights): the AH-rule,
 * R_v = v * gate^T sdiv(R, gate v) for the signal v; the gate gets nothing.
 */
export function attentionRule(gates: GateFinder): Rule {
  return (ctx) => {
    const { node, b } = ctx;
    if (!node.input.every((x) => ctx.isBatched(x))) {
      throw ctx.unsupported(
        "it multiplies a constant matrix by an activation; LRP has rules for an activation times a constant matrix and for attention weights times values",
      );
    }
    const k = signalOf(ctx, gates);
    if (!ctx.needsGrad(k)) return;
    const s = safeDivide(b, ctx.gradOut()!, node.output[0]!);
    ctx.setGrad(k, b.mul(node.input[k]!, gradientOf(ctx, matMul, s, k)));
  };
}
