// Several LRP rules are "the exact gradient of the op, applied to a modified signal" (the
// proportional rules send R / y back through the op's gradient and multiply by the input). This
// runs a gradient rule on a signal of the caller's choosing and returns one input's gradient.
import type { OpRule, RuleContext } from "../rule.ts";

/** The exact gradient of `rule` at input `k` for the output signal `signal`. */
export function gradientOf(
  ctx: RuleContext,
  rule: OpRule,
  signal: string,
  k = 0,
  node = ctx.node,
): string {
  let result: string | undefined;
  rule.rule({
    ...ctx,
    node,
    gradOut: () => signal,
    needsGrad: (i) => i === k,
    setGrad: (i, value) => {
      if (i === k) result = value;
    },
  });
  if (!result) throw new Error(`internal: no gradient at input ${k} from ${node.op_type}`);
  return result;
}
