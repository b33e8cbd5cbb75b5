// LRP rules of the layers that are not linear layers (docs/lrp-rules.md, "Other layers"):
// activations pass relevance unchanged, pools, means and joins split it in proportion to their
// inputs, gated and normalised products keep it with the signal (products.ts), LayerNorm has the
// LN-rule (layer-norm.ts), and the ops that only move values (reshapes, concatenation, slicing,
// gathering, padding) move it with them, which is what their exact gradient does.
import { attrInts, attrString } from "../../onnx/attributes.ts";
import type { AttributeProto } from "../../onnx/proto.ts";
import { unbroadcast } from "../broadcast.ts";
import type { OpRule, Rule, RuleContext } from "../rule.ts";
import { averagePool } from "../rules/average-pool.ts";
import { concat } from "../rules/concat.ts";
import { expand } from "../rules/expand.ts";
import { gather } from "../rules/gather.ts";
import { globalAveragePool } from "../rules/global-average-pool.ts";
import { globalMaxPool } from "../rules/global-max-pool.ts";
import { maxPool } from "../rules/max-pool.ts";
import { pad } from "../rules/pad.ts";
import { identity } from "../rules/pass-through.ts";
import { reduceMean, reduceSum } from "../rules/reduce.ts";
import { flatten, reshape, squeeze, unsqueeze } from "../rules/reshape-like.ts";
import { resize, upsample } from "../rules/resize.ts";
import { slice } from "../rules/slice.ts";
import { split } from "../rules/split.ts";
import { transpose } from "../rules/transpose.ts";
import { safeDivide } from "./divide.ts";
import type { GateFinder } from "./gates.ts";
import { gradientOf } from "./gradient-of.ts";
import { layerNormalization } from "./layer-norm.ts";
import { attentionRule, divRule, mulRule } from "./products.ts";

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
  "Gelu",
  "Dropout",
  "BatchNormalization",
];

/** x * pool^T(R / pool(x)) for an averaging pool whose output `pooled` is already computed. */
function proportionalPool(ctx: RuleContext, rule: OpRule, pooled: string, node = ctx.node): string {
  const s = safeDivide(ctx.b, ctx.gradOut()!, pooled);
  return ctx.b.mul(ctx.node.input[0]!, gradientOf(ctx, rule, s, 0, node));
}

/** Averages and sums over any axes (GlobalAveragePool written as ReduceMean, LayerNorm's mean). */
function proportionalReduction(rule: OpRule): OpRule {
  return {
    op: rule.op,
    rule: (ctx) => ctx.setGrad(0, proportionalPool(ctx, rule, ctx.node.output[0]!)),
  };
}

/**
 * Max pooling's proportional rule: relevance split in proportion to the inputs of each window, as
 * an average pool over the same windows (count_include_pad, so its divisor cancels in the ratio).
 */
const maxPoolProportional: Rule = (ctx) => {
  const { node, b } = ctx;
  const dilations = attrInts(node, "dilations");
  if (dilations?.some((d) => d !== 1)) {
    throw ctx.unsupported(
      'it is dilated, and the proportional max-pool rule supports undilated pools only (use "wta")',
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

/**
 * Joins of activations: each input gets input * R / output, a subtracted input with its sign
 * (a - b = a + (-b)); a constant (a bias) absorbs its share.
 */
const proportionalJoin: Rule = (ctx) => {
  const { node, b } = ctx;
  const y = node.output[0]!;
  const s = safeDivide(b, ctx.gradOut()!, y);
  node.input.forEach((x, k) => {
    if (!ctx.needsGrad(k)) return;
    const share = b.mul(x, s);
    const signed = node.op_type === "Sub" && k === 1 ? b.op("Neg", [share]) : share;
    ctx.setGrad(k, unbroadcast(ctx, signed, x, y));
  });
};

/** Nearest-neighbour resizing copies values, so relevance follows the copies; other modes mix. */
function nearestOnly(rule: OpRule): OpRule {
  return {
    op: rule.op,
    rule: (ctx) => {
      const name = attrString(ctx.node, "mode", "nearest");
      if (name !== "nearest") {
        throw ctx.unsupported(
          `it resizes in mode "${name}"; LRP moves relevance with "nearest" only`,
        );
      }
      rule.rule(ctx);
    },
  };
}

/**
 * The rules of every supported op other than the linear layers (MatMul: only products of two
 * activations, attention; `gates` tells gates from signals).
 */
export function layerRules(maxPoolRule: MaxPoolRule, gates: GateFinder): OpRule[] {
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
    proportionalReduction(reduceMean),
    proportionalReduction(reduceSum),
    { op: "Add", rule: proportionalJoin },
    { op: "Sub", rule: proportionalJoin },
    { op: "Sum", rule: proportionalJoin },
    { op: "Mul", rule: mulRule(gates) },
    { op: "Div", rule: divRule },
    { op: "MatMul", rule: attentionRule(gates) },
    { op: "LayerNormalization", rule: layerNormalization },
    concat,
    expand,
    flatten,
    gather,
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
