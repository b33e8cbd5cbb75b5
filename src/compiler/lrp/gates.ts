// Products of two activations in LRP (docs/lrp-rules.md, "Gates"): one operand is a gate (a
// sigmoid, hard sigmoid, softmax, the Gaussian CDF of GELU, a clipped ramp) that weights the other,
// the signal. The gate counts as a constant weight and all relevance flows through the signal
// ("signal-take-all"). Which operand is the gate is read from the graph: the operand whose value
// comes from a gate op, through ops that only move values or scale or shift them by constants;
// when both do, the one computed from the other (x * sigmoid(x) style). Anything else is an error,
// since guessing would silently send the relevance down the wrong branch.
import { hasAttr } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { NodeProto } from "../../onnx/proto.ts";

/** Ops whose output is a gate: bounded squashing functions. */
const GATE_OPS = ["Sigmoid", "HardSigmoid", "Softmax", "Erf", "Clip"] as const;

/** Ops through which a gate stays a gate: they move or copy values. */
const MOVES = new Set([
  "Identity",
  "Reshape",
  "Flatten",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Expand",
  "Tile",
  "Dropout",
  "Cast",
]);

/** Elementwise ops that keep a gate a gate when their other operand is a constant. */
const CONSTANT_AFFINE = new Set(["Mul", "Div", "Add", "Sub"]);

/** Values that depend on a graph input (the rest are constants), as the backward compiler sees it. */
export function batchedValues(model: OnnxModel): Set<string> {
  const batched = new Set(model.inputs().map((i) => i.name));
  for (const t of model.graph.initializer) if (t.name) batched.delete(t.name);
  for (const node of model.graph.node) {
    if (node.input.some((i) => batched.has(i))) for (const o of node.output) batched.add(o);
  }
  return batched;
}

/** A Clip bounded on both sides (ReLU6, a decomposed hard sigmoid); a one-sided Clip is a ramp. */
function isBoundedClip(node: NodeProto): boolean {
  if (node.input.length > 1) return Boolean(node.input[1]) && Boolean(node.input[2]);
  return hasAttr(node, "min") && hasAttr(node, "max");
}

export class GateFinder {
  private readonly producer: Map<string, NodeProto>;
  private readonly batched: Set<string>;

  constructor(model: OnnxModel) {
    this.batched = batchedValues(model);
    this.producer = new Map();
    for (const node of model.graph.node) for (const o of node.output) this.producer.set(o, node);
  }

  isBatched(value: string): boolean {
    return this.batched.has(value);
  }

  /** The gate op `value` comes from through moves and constant scaling/shifting, if any. */
  source(value: string): NodeProto | undefined {
    let v = value;
    for (;;) {
      const node = this.producer.get(v);
      if (!node) return undefined;
      const op = node.op_type;
      if (op === "Clip" ? isBoundedClip(node) : (GATE_OPS as readonly string[]).includes(op)) {
        return node;
      }
      if (MOVES.has(op)) {
        v = node.input[0]!;
        continue;
      }
      const batched = node.input.filter((i) => this.batched.has(i));
      // Dividing a constant by a gate is no longer a gate.
      if (
        CONSTANT_AFFINE.has(op) &&
        batched.length === 1 &&
        !(op === "Div" && batched[0] !== node.input[0])
      ) {
        v = batched[0]!;
        continue;
      }
      return undefined;
    }
  }

  /** Whether `value` is computed from `ancestor`. */
  private dependsOn(value: string, ancestor: string): boolean {
    const seen = new Set<string>();
    const stack = [value];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (v === ancestor) return true;
      if (seen.has(v)) continue;
      seen.add(v);
      const node = this.producer.get(v);
      if (node) stack.push(...node.input.filter((i) => this.batched.has(i)));
    }
    return false;
  }

  /**
   * Which input (0 or 1) of `node`, a product of two activations, is the gate; or why the graph
   * does not say.
   */
  gateOf(node: NodeProto): { gate: 0 | 1 } | { why: string } {
    const [a, b] = node.input as [string, string];
    const [ga, gb] = [this.source(a), this.source(b)];
    if (ga && !gb) return { gate: 0 };
    if (gb && !ga) return { gate: 1 };
    const what = "LRP cannot tell the gate from the signal";
    if (!ga || !gb) {
      return {
        why: `${what}: it multiplies two activations, neither computed by a gate op (${GATE_OPS.join(", ")}; Clip with both bounds) through reshapes or constant scaling`,
      };
    }
    const bFromA = this.dependsOn(b, a);
    const aFromB = this.dependsOn(a, b);
    if (bFromA !== aFromB) return { gate: bFromA ? 1 : 0 };
    return {
      why: `${what}: both operands come from gate ops (${ga.op_type} "${ga.name ?? ""}", ${gb.op_type} "${gb.name ?? ""}") and neither is computed from the other`,
    };
  }
}
