// LRP composites: which rule each linear layer gets (by position, op type or name), the max-pool
// rule, and whether BatchNorm is folded first (docs/lrp-rules.md, "Composites"). A composite plus
// a model gives a rule set of the backward compiler.
import { CamscopeError } from "../../errors.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { NodeProto } from "../../onnx/proto.ts";
import { extendRuleSet, ruleSet, type Rule, type RuleSet } from "../rule.ts";
import { GateFinder } from "./gates.ts";
import { layerRules, type MaxPoolRule } from "./layer-rules.ts";
import {
  isLinearNode,
  LINEAR_RULE_NAMES,
  linearRule,
  type LinearRuleSpec,
} from "./linear-rules.ts";

/** A linear rule whose zbox bounds may still come from the model's preprocessing. */
export type RuleChoice =
  | Exclude<LinearRuleSpec, Record<"rule", "zbox">>
  | {
      /** The z-box rule. */
      rule: "zbox";
      /** Lowest input value per channel; default from the model's preprocessing. */
      low?: readonly number[];
      /** Highest input value per channel; default from the model's preprocessing. */
      high?: readonly number[];
    };

/** An LRP composite: which rule each layer gets (docs/lrp-rules.md, "Composites"). */
export interface Composite {
  /** The composite's name (it keys the compiled-model cache). */
  name: string;
  /** The rule of the first linear layer in graph order (default: as the others of its op). */
  first?: RuleChoice;
  /** Convolutions (any group count). */
  conv: RuleChoice;
  /** Gemm and MatMul. */
  dense: RuleChoice;
  /** Rules of single layers, by node name or output value name; they win over the above. */
  layers?: Readonly<Record<string, RuleChoice>>;
  /** The max-pooling rule; default "wta". */
  maxPool?: MaxPoolRule;
  /** Fold BatchNormalization into the preceding Conv/Gemm first (canonize.ts). */
  foldBatchNorm: boolean;
}

const epsilon: RuleChoice = { rule: "epsilon" };
const zplus: RuleChoice = { rule: "zplus" };

/**
 * The named composites: `epsilon-plus` (z+ for convolutions, epsilon for dense layers),
 * `epsilon-gamma-box`, `epsilon-alpha2-beta1`, `epsilon-plus-flat` and `relevance-cam` (z+
 * everywhere, BatchNorm kept).
 */
export const COMPOSITES: Readonly<Record<string, Composite>> = {
  "epsilon-plus": { name: "epsilon-plus", conv: zplus, dense: epsilon, foldBatchNorm: true },
  "epsilon-gamma-box": {
    name: "epsilon-gamma-box",
    first: { rule: "zbox" },
    conv: { rule: "gamma", gamma: 0.25 },
    dense: epsilon,
    foldBatchNorm: true,
  },
  "epsilon-alpha2-beta1": {
    name: "epsilon-alpha2-beta1",
    conv: { rule: "alphabeta", alpha: 2, beta: 1 },
    dense: epsilon,
    foldBatchNorm: true,
  },
  "epsilon-plus-flat": {
    name: "epsilon-plus-flat",
    first: { rule: "flat" },
    conv: zplus,
    dense: epsilon,
    foldBatchNorm: true,
  },
  "relevance-cam": { name: "relevance-cam", conv: zplus, dense: zplus, foldBatchNorm: false },
};

/**
 * Relevance-CAM's composite with the convolution bias in the z+ denominators, as its official code
 * computes them (see LinearRuleSpec's `convBias`); not a named composite, since it only matters
 * as Relevance-CAM's option.
 */
export const RELEVANCE_CAM_CONV_BIAS: Composite = {
  name: "relevance-cam-conv-bias",
  conv: { rule: "zplus", convBias: true },
  dense: zplus,
  foldBatchNorm: false,
};

/** A composite applying one rule to every linear layer. */
export function uniformComposite(rule: RuleChoice, foldBatchNorm = true): Composite {
  return { name: `uniform-${rule.rule}`, conv: rule, dense: rule, foldBatchNorm };
}

/** The composite named `name`, or the one-rule composite of a rule written as parseRule reads. */
export function resolveComposite(name: string): Composite {
  const known = COMPOSITES[name];
  if (known) return known;
  try {
    return uniformComposite(parseRule(name));
  } catch {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown LRP composite or rule "${name}"; composites: ${Object.keys(COMPOSITES).join(", ")}; rules: ${LINEAR_RULE_NAMES.join(", ")} (e.g. "epsilon:0.25", "alphabeta:2,1", "gamma:0.25")`,
    );
  }
}

/** A rule written as "name" or "name:p1,p2" (epsilon:eps, gamma:gamma, alphabeta:alpha,beta). */
export function parseRule(text: string): RuleChoice {
  const [name, args = ""] = text.split(":") as [string, string?];
  const params = args === "" ? [] : args.split(",").map(Number);
  const bad = (): never => {
    throw new CamscopeError("INVALID_ARGUMENT", `Cannot read LRP rule "${text}"`);
  };
  if (params.some((p) => !Number.isFinite(p))) bad();
  switch (name) {
    case "epsilon":
      return params.length <= 1
        ? { rule: "epsilon", ...(params.length ? { epsilon: params[0]! } : {}) }
        : bad();
    case "gamma":
      return params.length <= 1
        ? { rule: "gamma", ...(params.length ? { gamma: params[0]! } : {}) }
        : bad();
    case "alphabeta": {
      if (params.length !== 0 && params.length !== 2) bad();
      const [alpha = 2, beta = 1] = params;
      if (Math.abs(alpha - beta - 1) > 1e-9) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `alphabeta needs alpha - beta = 1, got ${alpha}, ${beta}`,
        );
      }
      return { rule: "alphabeta", alpha, beta };
    }
    case "zplus":
    case "zbox":
    case "flat":
    case "wsquare":
      return params.length === 0 ? { rule: name } : bad();
    default:
      return bad();
  }
}

/** Options of {@link lrpRuleSet}. */
export interface LrpRuleSetOptions {
  /** Per-channel input bounds for zbox, in the model-input space (from the preprocessing). */
  bounds?: {
    /** Lowest value per channel. */
    low: readonly number[];
    /** Highest value per channel. */
    high: readonly number[];
  };
}

function complete(choice: RuleChoice, options: LrpRuleSetOptions): LinearRuleSpec {
  if (choice.rule !== "zbox") return choice;
  const low = choice.low ?? options.bounds?.low;
  const high = choice.high ?? options.bounds?.high;
  if (!low || !high) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      "The zbox rule needs the input's value range (low and high per channel)",
    );
  }
  return { rule: "zbox", low, high };
}

/**
 * The rule set of `composite` for `model` (already canonized if the composite folds BatchNorm:
 * layer names refer to its nodes).
 */
export function lrpRuleSet(
  model: OnnxModel,
  composite: Composite,
  options: LrpRuleSetOptions = {},
): RuleSet {
  const gates = new GateFinder(model);
  // A MatMul of two activations is no linear layer (attention: layer-rules' AH-rule).
  const linear = model.graph.node.filter(
    (n) => isLinearNode(n) && !(n.op_type === "MatMul" && gates.isBatched(n.input[1] ?? "")),
  );
  const names = (n: NodeProto): string[] => [n.name ?? "", n.output[0] ?? ""].filter(Boolean);
  for (const key of Object.keys(composite.layers ?? {})) {
    if (!linear.some((n) => names(n).includes(key))) {
      throw new CamscopeError(
        "UNKNOWN_LAYER",
        `The LRP composite names layer "${key}", which is not a Conv/Gemm/MatMul node of model "${model.source}"; its linear layers are: ${linear.map((n) => n.output[0]).join(", ")}`,
      );
    }
  }
  const first = linear[0];
  // Keyed by output name: unique in a graph, and stable across clones of the model.
  const rules = new Map<string, Rule>();
  for (const node of linear) {
    const byName = names(node)
      .map((k) => composite.layers?.[k])
      .find((c) => c !== undefined);
    const choice =
      byName ??
      (node === first ? composite.first : undefined) ??
      (node.op_type === "Conv" ? composite.conv : composite.dense);
    rules.set(node.output[0]!, linearRule(complete(choice, options)));
  }
  const base = ruleSet("lrp-layers", layerRules(composite.maxPool ?? "wta", gates));
  // The name keys compiled-graph caches, so it must tell every configuration apart.
  const name = `LRP ${composite.name} #${fnv1a(JSON.stringify([composite, options.bounds ?? null]))}`;
  const method = `LRP (${composite.name})`;
  return extendRuleSet(base, name, [], (node) => rules.get(node.output[0] ?? ""), method);
}

/** 32-bit FNV-1a of a string, in hex (no node:crypto: the compiler also runs in browsers). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
