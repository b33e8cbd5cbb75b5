import { unbroadcast } from "../broadcast.ts";
import type { OpRule } from "../rule.ts";

// The four broadcasting binary ops. Each operand's gradient is reduced back to its own shape.

export const add: OpRule = {
  op: "Add",
  rule: (ctx) => {
    const [a, b] = ctx.node.input as [string, string];
    const y = ctx.node.output[0]!;
    const g = ctx.gradOut()!;
    if (ctx.needsGrad(0)) ctx.setGrad(0, unbroadcast(ctx, g, a, y));
    if (ctx.needsGrad(1)) ctx.setGrad(1, unbroadcast(ctx, g, b, y));
  },
};

export const sub: OpRule = {
  op: "Sub",
  rule: (ctx) => {
    const [a, b] = ctx.node.input as [string, string];
    const y = ctx.node.output[0]!;
    const g = ctx.gradOut()!;
    if (ctx.needsGrad(0)) ctx.setGrad(0, unbroadcast(ctx, g, a, y));
    if (ctx.needsGrad(1)) ctx.setGrad(1, ctx.b.op("Neg", [unbroadcast(ctx, g, b, y)]));
  },
};

export const mul: OpRule = {
  op: "Mul",
  rule: (ctx) => {
    const [a, b] = ctx.node.input as [string, string];
    const y = ctx.node.output[0]!;
    const g = ctx.gradOut()!;
    if (ctx.needsGrad(0)) ctx.setGrad(0, unbroadcast(ctx, ctx.b.mul(g, b), a, y));
    if (ctx.needsGrad(1)) ctx.setGrad(1, unbroadcast(ctx, ctx.b.mul(g, a), b, y));
  },
};

export const div: OpRule = {
  op: "Div",
  rule: (ctx) => {
    const [a, b] = ctx.node.input as [string, string];
    const y = ctx.node.output[0]!;
    const g = ctx.gradOut()!;
    const gOverB = ctx.b.op("Div", [g, b]);
    if (ctx.needsGrad(0)) ctx.setGrad(0, unbroadcast(ctx, gOverB, a, y));
    // d(a/b)/db = -(a/b)/b = -y/b
    if (ctx.needsGrad(1)) {
      ctx.setGrad(1, ctx.b.op("Neg", [unbroadcast(ctx, ctx.b.mul(gOverB, y), b, y)]));
    }
  },
};
