// Guided backprop and deconvnet: the exact gradient everywhere except at ReLU-like ops, where
// deconvnet passes only positive signals (ignoring the forward mask) and guided backprop passes
// only positive signals through positive activations.
import { clipPassMask } from "./clip.ts";
import { reluMask } from "./relu.ts";
import { extendRuleSet, type OpRule, type RuleContext } from "../rule.ts";
import { exactGradient } from "./index.ts";

function positive(ctx: RuleContext): string {
  return ctx.b.op("Relu", [ctx.gradOut()!]);
}

/** Guided backprop: the gradient, with only positive signals passed through positive activations. */
export const guidedBackprop = extendRuleSet(
  exactGradient,
  "guided-backprop",
  [
    { op: "Relu", rule: (ctx) => ctx.setGrad(0, ctx.b.mul(positive(ctx), reluMask(ctx))) },
    {
      op: "Clip",
      rule: (ctx) => {
        const mask = clipPassMask(ctx);
        ctx.setGrad(0, mask ? ctx.b.mul(positive(ctx), mask) : positive(ctx));
      },
    },
  ] satisfies OpRule[],
  undefined,
  "guided backprop signal",
);

/** Deconvnet: the gradient, with only positive signals passed at ReLU-like ops. */
export const deconvnet = extendRuleSet(
  exactGradient,
  "deconvnet",
  [
    { op: "Relu", rule: (ctx) => ctx.setGrad(0, positive(ctx)) },
    { op: "Clip", rule: (ctx) => ctx.setGrad(0, positive(ctx)) },
  ] satisfies OpRule[],
  undefined,
  "deconvnet signal",
);
