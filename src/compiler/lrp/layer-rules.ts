// LRP rules of the layers that are not linear layers (docs/lrp-rules.md, "Other layers"):
// activations pass relevance unchanged, pools and joins split it in proportion to their inputs,
// and the ops that only move values (reshapes, concatenation, slicing, padding) move it with
// them, which is what their exact gradient does.
import { CamscopeError } from "../../errors.ts";
import { attrInts, attrString } from "../../onnx/attributes.ts";
import type { AttributeProto } from "../../onnx/proto.ts";
import { unbroadcast } from "../broadcast.ts";
import type { OpRule, Rule, RuleContext } from "../rule.ts";
import { averagePool } from "../rules/average-pool.ts";
import { concat } from "../rules/concat.ts";
import { expand } from "../rules/expand.ts";
import { globalAveragePool } from "../rules/global-average-pool.ts";
import { globalMaxPool } from "../rules/global-max-pool.ts";
import { maxPool } from "../rules/max-pool.ts";
import { pad } from "../rules/pad.ts";
import { identity } from "../rules/pass-through.ts";
import { flatten, reshape, squeeze, unsqueeze } from "../rules/reshape-like.ts";
import { resize, upsample } from "../rules/resize.ts";
import { slice } from "../rules/slice.ts";
import { split } from "../rules/split.ts";
import { transpose } from "../rules/transpose.ts";
import { safeDivide } from "./divide.ts";

/**
 * LRP at max pooling: `wta` gives a window's relevance to its maximum, `proportional` splits it in
 * proportion to the window's inputs.
 */
export type MaxPoolRule = "wta" | "proportional";

const unchanged: Rule = (ctx) => ctx.setGrad(0, ctx.gradOut()!);

const ACTIVATIONS = [
  "Relu",
  "Clip",
  "LeakyRelu",
  "PRelu",
  "Sigmoid",
  "Tanh",
  "HardSigmoid",
  "HardSwish",
  "Elu",
  "Selu",
  "Softplus",
  "Dropout",
  "BatchNormalization",
];

/** The exact input gradient of `rule` at input 0 for the signal `signal` (for proportional rules). */
function gradientOf(ctx: RuleContext, rule: OpRule, signal: string, node = ctx.node): string {
  let result: string | undefined;
  rule.rule({
    ...ctx,
    node,
    gradOut: () => signal,
    needsGrad: (k) => k === 0,
    setGrad: (k, value) => {
      if (k === 0) result = value;
    },
  });
  if (!result) throw new Error(`internal: no input gradient from ${node.op_type}`);
  return result;
}

/** x * pool^T(R / pool(x)) for an averaging pool whose output `pooled` is already computed. */
function proportionalPool(ctx: RuleContext, rule: OpRule, pooled: string, node = ctx.node): string {
  const s = safeDivide(ctx.b, ctx.gradOut()!, pooled);
  return ctx.b.mul(ctx.node.input[0]!, gradientOf(ctx, rule, s, node));
}

/**
 * Max pooling's proportional rule: relevance split in proportion to the inputs of each window, as
 * an average pool over the same windows (count_include_pad, so its divisor cancels in the ratio).
 */
const maxPoolProportional: Rule = (ctx) => {
  const { node, b } = ctx;
  const dilations = attrInts(node, "dilations");
  if (dilations?.some((d) => d !== 1)) {
    throw new CamscopeError(
      "UNSUPPORTED_OP",
      `MaxPool node "${node.name ?? ""}" is dilated; the proportional LRP rule supports undilated pools only (use "wta")`,
    );
  }
  const attribute: AttributeProto[] = [
    ...node.attribute.filter((a) => !["dilations", "storage_order"].includes(a.name ?? "")),
    { name: "count_include_pad", type: 2, i: 1 },
  ];
  const avg = { ...node, op_type: "AveragePool", attribute, output: [node.output[0]!] };
  const pooled = b.fresh("lrp_window_mean");
  b.nodes.push({ ...avg, name: b.fresh("lrp_window_mean_node"), output: [pooled] });
  ctx.setGrad(0, proportionalPool(ctx, averagePool, pooled, avg));
};

/** Joins of activations: each batched input gets input * R / output (a bias absorbs its share). */
const proportionalJoin: Rule = (ctx) => {
  const { node, b } = ctx;
  const y = node.output[0]!;
  const s = safeDivide(b, ctx.gradOut()!, y);
  node.input.forEach((x, k) => {
    if (ctx.needsGrad(k)) ctx.setGrad(k, unbroadcast(ctx, b.mul(x, s), x, y));
  });
};

/** Scaling by a constant keeps every share: relevance passes to the activation unchanged. */
const constantScale: Rule = (ctx) => {
  const { node } = ctx;
  const batched = node.input.flatMap((x, k) => (ctx.isBatched(x) ? [k] : []));
  const k = batched[0];
  if (batched.length !== 1 || (node.op_type === "Div" && k !== 0)) {
    throw new CamscopeError(
      "UNSUPPORTED_OP",
      `LRP has no rule for ${node.op_type} node "${node.name ?? ""}": only scaling an activation by a constant is supported`,
    );
  }
  if (ctx.needsGrad(k!)) {
    ctx.setGrad(k!, unbroadcast(ctx, ctx.gradOut()!, node.input[k!]!, node.output[0]!));
  }
};

/** Nearest-neighbour resizing copies values, so relevance follows the copies; other modes mix. */
function nearestOnly(rule: OpRule): OpRule {
  return {
    op: rule.op,
    rule: (ctx) => {
      const name = attrString(ctx.node, "mode", "nearest");
      if (name !== "nearest") {
        throw new CamscopeError(
          "UNSUPPORTED_OP",
          `LRP has no rule for ${rule.op} node "${ctx.node.name ?? ""}" in mode "${name}" (only "nearest")`,
        );
      }
      rule.rule(ctx);
    },
  };
}

/** The rules of every supported op other than the linear layers. */
export function layerRules(maxPoolRule: MaxPoolRule): OpRule[] {
  return [
    ...ACTIVATIONS.map((op) => ({ op, rule: unchanged })),
    identity,
    { op: "MaxPool", rule: maxPoolRule === "wta" ? maxPool.rule : maxPoolProportional },
    globalMaxPool,
    {
      op: "AveragePool",
      rule: (ctx) => ctx.setGrad(0, proportionalPool(ctx, averagePool, ctx.node.output[0]!)),
    },
    {
      op: "GlobalAveragePool",
      rule: (ctx) => ctx.setGrad(0, proportionalPool(ctx, globalAveragePool, ctx.node.output[0]!)),
    },
    { op: "Add", rule: proportionalJoin },
    { op: "Sum", rule: proportionalJoin },
    { op: "Mul", rule: constantScale },
    { op: "Div", rule: constantScale },
    concat,
    expand,
    flatten,
    pad,
    reshape,
    nearestOnly(resize),
    slice,
    split,
    squeeze,
    transpose,
    unsqueeze,
    nearestOnly(upsample),
  ];
}
