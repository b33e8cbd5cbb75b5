// What a backward rule sees: one forward node, the signal arriving at its outputs, and a builder
// for the nodes that send the signal on to its inputs. Gradient rules compute vector-Jacobian
// products; other rule sets (guided backprop, LRP) reuse the same interface for other signals.
import type { CamscopeError } from "../errors.ts";
import type { NodeProto, TensorProto } from "../onnx/proto.ts";
import type { GraphBuilder } from "./builder.ts";

/**
 * What a backward rule sees: one forward node, the signal arriving at its outputs, and a builder
 * for the nodes that send the signal on to its inputs.
 */
export interface RuleContext {
  /** The forward node. */
  readonly node: NodeProto;
  /** Appends the nodes of the backward step. */
  readonly b: GraphBuilder;
  /** The signal arriving at output k (undefined when nothing downstream uses that output). */
  gradOut(k?: number): string | undefined;
  /** Whether input k leads back to a requested value, i.e. needs a signal. */
  needsGrad(k: number): boolean;
  /** Sends a signal contribution to input k (contributions from several consumers are summed). */
  setGrad(k: number, value: string): void;
  /** Static dims of a value at the compiled input size (batch dimension as 1). */
  dims(value: string): number[];
  /** Whether a value varies with the batch (depends on a graph input) or is a constant. */
  isBatched(value: string): boolean;
  /**
   * The axes of a value whose size grows with the batch: [0] for the usual [N, ...] layout, [1]
   * for [L, N, E], the merged axis of [N * heads, ...], none for constants and values computed
   * from shapes only. Broadcasting and reductions must not mistake such an axis, of size 1 at the
   * compiled size, for a broadcast one.
   */
  batchAxes(value: string): readonly number[];
  /** The one-line error for a node this rule cannot propagate through, `why` saying the cause. */
  unsupported(why: string): CamscopeError;
  /** The constant tensor behind a value (initializer or Constant node), if it is constant. */
  constant(value: string): TensorProto | undefined;
}

/** A backward rule: reads {@link RuleContext.gradOut} and calls {@link RuleContext.setGrad}. */
export type Rule = (ctx: RuleContext) => void;

/** A rule registered for one ONNX op type (one module per op, collected in rules/index.ts). */
export interface OpRule {
  /** The ONNX op type, e.g. `Conv`. */
  readonly op: string;
  /** Its rule. */
  readonly rule: Rule;
}

/**
 * A set of backward rules. Rules are looked up per node, so a set can override single layers
 * (by node name) or op types on top of another set without touching it.
 */
export interface RuleSet {
  /** Tells configurations apart (compiled graphs are cached by it); never shown to users. */
  readonly name: string;
  /** What the user asked for, for error messages: "gradient", "guided backprop", ... */
  readonly method?: string;
  /** The rule for a node, or undefined if the set has none (compiling then fails). */
  ruleFor(node: NodeProto): Rule | undefined;
}

/** A rule set from a list of op rules. */
export function ruleSet(name: string, rules: readonly OpRule[], method?: string): RuleSet {
  const byOp = new Map(rules.map((r) => [r.op, r.rule]));
  return { name, ...(method ? { method } : {}), ruleFor: (node) => byOp.get(node.op_type) };
}

/**
 * A rule set that takes `overrides` first (by op type), then `byNode` (per layer, by node), and
 * falls back to `base` for everything else.
 */
export function extendRuleSet(
  base: RuleSet,
  name: string,
  overrides: readonly OpRule[],
  byNode?: (node: NodeProto) => Rule | undefined,
  method?: string,
): RuleSet {
  const byOp = new Map(overrides.map((r) => [r.op, r.rule]));
  return {
    name,
    ...(method ? { method } : {}),
    ruleFor: (node) => byNode?.(node) ?? byOp.get(node.op_type) ?? base.ruleFor(node),
  };
}
