import type { OpRule, Rule } from "../rule.ts";

// Ops that pass the signal on unchanged (Dropout is the identity at inference; a Cast on the
// differentiated path is float to float, since only float values carry gradients).
const identityRule: Rule = (ctx) => ctx.setGrad(0, ctx.gradOut()!);

export const identity: OpRule = { op: "Identity", rule: identityRule };
export const dropout: OpRule = { op: "Dropout", rule: identityRule };
export const cast: OpRule = { op: "Cast", rule: identityRule };
