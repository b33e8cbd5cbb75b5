// The backward compiler: appends to a model the reverse-mode subgraph that sends a seed signal
// from one output back to chosen values, one rule per node, so that a single ONNX Runtime run
// returns the outputs, the activations and their gradients (or relevances) for a whole batch.
import { CamscopeError } from "../errors.ts";
import { attrTensor } from "../onnx/attributes.ts";
import { elemTypes } from "../onnx/elem-types.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { DataType, type NodeProto, type TensorProto, type ValueInfoProto } from "../onnx/proto.ts";
import { ValueShapes } from "../onnx/value-shapes.ts";
import { GraphBuilder } from "./builder.ts";
import type { RuleContext, RuleSet } from "./rule.ts";

/** What a backward pass computes: the signal from `output` back to the `wrt` values. */
export interface BackwardSpec {
  /** Values to send the signal back to: activation names and/or the model input. */
  wrt: readonly string[];
  /** The value the pass starts from; default: the model's first output. */
  output?: string;
  /** How each op sends the signal back: {@link exactGradient}, {@link guidedBackprop}, an LRP set. */
  ruleSet: RuleSet;
}

/** A model rewritten to compute its backward pass too, from {@link compileBackward}. */
export interface CompiledBackward {
  /** The rewritten model: original outputs, then the exposed activations, then the signals. */
  model: OnnxModel;
  /** The graph input carrying the seed, shaped like `output` ([N, ...]). */
  seed: string;
  /** The value the pass starts from. */
  output: string;
  /** Dims of `output` at batch 1. */
  outputDims: number[];
  /** For each wrt value, the graph output holding its signal. */
  grads: ReadonlyMap<string, string>;
  /** wrt values that are not graph inputs, exposed as graph outputs under their own names. */
  activations: readonly string[];
}

const PREFIX = "camscope";

export const SEED_NAME = `${PREFIX}/seed`;

export function gradName(value: string): string {
  return `${PREFIX}/grad/${value}`;
}

/** What a user can do about a node no rule of the method propagates through. */
const ADVICE =
  "explain a layer after that node, or use a method that does not back-propagate (eigencam, scorecam, ablationcam)";

/** The one-line error for a node the method cannot propagate through. */
export function unsupportedNode(
  model: OnnxModel,
  ruleSet: RuleSet,
  node: NodeProto,
  why: string,
): CamscopeError {
  const method = ruleSet.method ?? "backward signal";
  const name = node.name || `(unnamed, output "${node.output[0] ?? ""}")`;
  return new CamscopeError(
    "UNSUPPORTED_OP",
    `The ${method} cannot pass op "${node.op_type}" (node "${name}") of model "${model.source}": ${why}; ${ADVICE}`,
  );
}

function floatOutput(name: string, dims: readonly number[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: { dim: dims.map((d, axis) => (axis === 0 ? { dim_param: "N" } : { dim_value: d })) },
      },
    },
  };
}

/** Values reachable forward from `sources` through float values. */
function reachable(
  nodes: readonly NodeProto[],
  sources: Iterable<string>,
  types: Map<string, number>,
): Set<string> {
  const set = new Set(sources);
  for (const node of nodes) {
    if (!node.input.some((i) => set.has(i))) continue;
    for (const o of node.output) if (o && types.get(o) === DataType.FLOAT) set.add(o);
  }
  return set;
}

/**
 * Rewrites `model` so that one session run also computes the backward pass of `spec`: each op's
 * rule appends the nodes of its backward step to the graph. `shapes` are the model's value dims
 * at batch 1 ({@link inferShapes}); a ValueShapes also knows which axes grow with the batch,
 * where a plain map leaves the compiler to assume axis 0 of every value that depends on a graph
 * input. Throws a {@link CamscopeError} for an unknown value or an op
 * the rule set has no rule for.
 */
export function compileBackward(
  model: OnnxModel,
  shapes: ReadonlyMap<string, number[]>,
  spec: BackwardSpec,
): CompiledBackward {
  const graph = model.graph;
  const output = spec.output ?? model.outputs()[0]?.name;
  if (!output)
    throw new CamscopeError("INVALID_ARGUMENT", `Model "${model.source}" has no outputs`);
  const types = elemTypes(model);
  for (const w of [...spec.wrt, output]) {
    if (!types.has(w)) {
      throw new CamscopeError("UNKNOWN_LAYER", `Model "${model.source}" has no value named "${w}"`);
    }
  }
  for (const w of spec.wrt) {
    if (!reachable(graph.node, [w], types).has(output)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Value "${w}" does not influence "${output}" in model "${model.source}"; nothing to differentiate`,
      );
    }
  }

  const constants = new Map<string, TensorProto>();
  for (const t of graph.initializer) if (t.name) constants.set(t.name, t);
  const initializerNames = new Set(constants.keys());
  const batched = new Set(model.inputs().map((i) => i.name));
  for (const node of graph.node) {
    if (node.op_type === "Constant") {
      const t = attrTensor(node, "value");
      if (t && node.output[0]) constants.set(node.output[0], t);
    }
    // Exporters alias identical initializers through Identity nodes (e.g. two equal biases).
    const aliased = node.op_type === "Identity" ? constants.get(node.input[0] ?? "") : undefined;
    if (aliased && node.output[0]) constants.set(node.output[0], aliased);
    if (node.input.some((i) => batched.has(i))) for (const o of node.output) batched.add(o);
  }
  for (const name of initializerNames) batched.delete(name);
  const knownBatchAxes = shapes instanceof ValueShapes ? shapes.batchAxes : undefined;
  const batchAxes = (value: string): readonly number[] =>
    knownBatchAxes?.get(value) ?? (batched.has(value) ? [0] : []);

  const live = reachable(graph.node, spec.wrt, types);
  const b = new GraphBuilder(model.opset(), PREFIX);
  const contributions = new Map<string, string[]>([[output, [SEED_NAME]]]);
  const summed = new Map<string, string>();

  const gradOf = (value: string): string | undefined => {
    const done = summed.get(value);
    if (done) return done;
    const parts = contributions.get(value);
    if (!parts || parts.length === 0) return undefined;
    const total = parts.slice(1).reduce((acc, p) => b.add(acc, p), parts[0]!);
    summed.set(value, total);
    return total;
  };

  const dims = (value: string): number[] => {
    const d =
      shapes.get(value) ??
      (constants.get(value)?.dims ? [...constants.get(value)!.dims!] : undefined);
    if (!d) throw new Error(`internal: no shape known for value "${value}"`);
    return d;
  };

  for (let i = graph.node.length - 1; i >= 0; i--) {
    const node = graph.node[i]!;
    if (!node.output.some((o) => contributions.has(o))) continue;
    if (!node.input.some((inp) => live.has(inp))) continue;
    const rule = spec.ruleSet.ruleFor(node);
    if (!rule) {
      throw unsupportedNode(model, spec.ruleSet, node, `camscope has no rule for ${node.op_type}`);
    }
    const ctx: RuleContext = {
      node,
      b,
      gradOut: (k = 0) => gradOf(node.output[k] ?? ""),
      needsGrad: (k) => {
        const name = node.input[k];
        return name !== undefined && name !== "" && live.has(name);
      },
      setGrad: (k, value) => {
        const name = node.input[k]!;
        if (summed.has(name))
          throw new Error(`internal: gradient of "${name}" used before complete`);
        const list = contributions.get(name);
        if (list) list.push(value);
        else contributions.set(name, [value]);
      },
      dims,
      isBatched: (value) => batched.has(value),
      batchAxes,
      unsupported: (why) => unsupportedNode(model, spec.ruleSet, node, why),
      constant: (value) => constants.get(value),
    };
    rule(ctx);
  }

  const compiled = model.clone();
  const g = compiled.graph;
  const outputDims = dims(output);
  g.input.push(floatOutput(SEED_NAME, outputDims));
  const exposed = new Set(g.output.map((o) => o.name));
  const graphInputs = new Set(model.inputs().map((v) => v.name));
  const activations = spec.wrt.filter((w) => !graphInputs.has(w));
  for (const a of activations) {
    if (!exposed.has(a)) g.output.push(floatOutput(a, dims(a)));
    exposed.add(a);
  }
  const grads = new Map<string, string>();
  for (const w of spec.wrt) {
    // Rule sets that drop a branch (LRP gives a gate no relevance) send nothing to values that
    // lie only on it: their signal is zero.
    const total = gradOf(w) ?? b.zerosLike(w);
    const name = gradName(w);
    b.nodes.push({
      op_type: "Identity",
      name: `${name}/node`,
      input: [total],
      output: [name],
      attribute: [],
    });
    g.output.push(floatOutput(name, dims(w)));
    grads.set(w, name);
  }
  g.node.push(...b.nodes);
  g.initializer.push(...b.initializers);
  return { model: compiled, seed: SEED_NAME, output, outputDims, grads, activations };
}
