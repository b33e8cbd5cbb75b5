// Layer discovery: the activations a CAM can target (channels-first feature maps, channels-last
// grids, and token sequences on a patch grid, see layouts.ts), and the default one, chosen as an
// expert would: the last feature maps before a CNN's global pooling (not the classifier's own
// class-score map), or a vision transformer's last pre-attention normalisation.
import { CamscopeError } from "../errors.ts";
import { inferLayouts, type ValueLayout } from "./layouts.ts";
import type { GraphIndex, OnnxModel } from "./model.ts";

/** How a layer's value is laid out: a CAM sees every layer as [N, C, h, w]. */
export type LayerLayout = "NCHW" | "NHWC" | "tokens";

/** A 4-D spatial activation a CAM method can explain. */
export interface LayerInfo {
  /** The ONNX value name; this is what `--layer` takes. */
  name: string;
  /** The op type of the node that produces it. */
  op: string;
  /** The producing node's name, if it has one. */
  node: string;
  /** Dims as a CAM sees the layer, [1, C, h, w] at the model's input size and batch 1. */
  dims: number[];
  /** How the value is laid out (channels-first, channels-last grid, tokens on a grid). */
  layout: LayerLayout;
  /** The value's own dims at batch 1 ([1, h, w, C] for NHWC, [1, T, C] for tokens). */
  valueDims: number[];
  /** Tokens before the patch grid (class and distillation tokens), not part of the map. */
  prefixTokens?: number;
}

// Nodes that turn a spatial map into a vector: the input of the last one is where a classifier's
// evidence is still spatial, the layer CAM papers explain.
const TO_VECTOR = new Set([
  "GlobalAveragePool",
  "GlobalMaxPool",
  "Flatten",
  "Reshape",
  "ReduceMean",
  "ReduceMax",
]);

// Ops between a class-score convolution and the pooling that turns its map into logits.
const ACTIVATIONS = new Set(["Relu", "Clip", "LeakyRelu", "Sigmoid", "Dropout", "Identity"]);

function viewOf(
  dims: readonly number[],
  layout: ValueLayout | undefined,
): Pick<LayerInfo, "dims" | "layout" | "prefixTokens"> | undefined {
  const roles = layout?.roles.join("");
  if (dims.length === 4) {
    if (roles === "NHWC") return { dims: [dims[0]!, dims[3]!, dims[1]!, dims[2]!], layout: "NHWC" };
    // Only values whose axes are known: a 4-D value of unknown layout may be anything (Swin's
    // windows hold several windows of one image on the batch axis).
    if (roles === "NCHW") return { dims: [...dims], layout: "NCHW" };
    return undefined;
  }
  if (dims.length === 3 && roles === "NTC" && layout?.grid) {
    const [h, w] = layout.grid;
    const prefix = layout.prefix ?? 0;
    if (dims[1] !== prefix + h * w) return undefined;
    return { dims: [dims[0]!, dims[2]!, h, w], layout: "tokens", prefixTokens: prefix };
  }
  return undefined;
}

/**
 * Every feature map with more than one spatial position, in graph order: 4-D channels-first or
 * channels-last values and token sequences on a patch grid (layouts read from the graph, see
 * layouts.ts; `input` is the NCHW image input).
 */
export function listLayers(
  model: OnnxModel,
  shapes: ReadonlyMap<string, number[]>,
  input = model.inputs()[0]?.name ?? "",
): LayerInfo[] {
  const layouts = inferLayouts(model, shapes, input);
  const layers: LayerInfo[] = [];
  const seen = new Set<string>();
  for (const node of model.graph.node) {
    for (const out of node.output) {
      const dims = shapes.get(out);
      if (!dims || seen.has(out)) continue;
      const view = viewOf(dims, layouts.get(out));
      if (!view || view.dims[2]! * view.dims[3]! <= 1) continue;
      seen.add(out);
      layers.push({
        name: out,
        op: node.op_type,
        node: node.name ?? "",
        valueDims: [...dims],
        ...view,
      });
    }
  }
  return layers;
}

/**
 * The default CAM target.
 * - Transformers (a MatMul of two activations, i.e. attention): the last token or grid layer
 *   that is a normalisation's output and still feeds an attention: the last block's first norm,
 *   as pytorch-grad-cam recommends for ViT and Swin (after the last attention, the patch tokens no
 *   longer reach the class token, so later layers have no gradient there).
 * - CNNs: the last spatial layer that feeds a global pooling, flatten or reshape (squeeze-
 *   excitation blocks pool too, so the last one in graph order is the head's), stepping back over
 *   an adaptive average pooling (VGG) and over a class-score convolution (SqueezeNet's head: a 1x1 Conv with one channel per class, pooled
 *   straight into the logits) to the features it reads.
 * - Otherwise the last spatial layer.
 */
export function defaultLayer(model: OnnxModel, layers: readonly LayerInfo[]): LayerInfo {
  if (layers.length === 0) {
    throw new CamscopeError(
      "UNKNOWN_LAYER",
      `Model "${model.source}" has no spatial activation to explain`,
    );
  }
  const index = model.index();
  const byName = new Map(layers.map((l) => [l.name, l]));
  const attention = attentionAncestors(model, index);
  if (attention.size > 0) {
    const normalized = layers.filter(
      (l) => l.layout !== "NCHW" && attention.has(l.name) && isNormalizationOutput(l.name, index),
    );
    if (normalized.length > 0) return normalized[normalized.length - 1]!;
  }
  let best: LayerInfo | undefined;
  for (const node of model.graph.node) {
    if (!TO_VECTOR.has(node.op_type)) continue;
    const layer = byName.get(node.input[0] ?? "");
    if (layer) best = layer;
  }
  if (!best) return layers[layers.length - 1]!;
  // VGG's adaptive average pooling (an AveragePool before the flatten) only resamples the last
  // block's maps; the block's own output is the layer (pytorch-grad-cam's features[-1]).
  const pool = index.producer.get(best.name)?.node;
  if (pool?.op_type === "AveragePool") best = byName.get(pool.input[0] ?? "") ?? best;
  return featuresBeforeClassScores(model, best, byName, index) ?? best;
}

/**
 * The layer a class-score map is computed from: when `pooled` comes (through activations) from a
 * Conv with one output channel per class and the pooled vector is the logits without another
 * weighted layer, the Conv's input; else undefined.
 */
function featuresBeforeClassScores(
  model: OnnxModel,
  pooled: LayerInfo,
  layers: ReadonlyMap<string, LayerInfo>,
  index: GraphIndex,
): LayerInfo | undefined {
  const output = model.outputs()[0];
  const classes = output?.type?.tensor_type?.shape?.dim?.[1]?.dim_value;
  let v = pooled.name;
  while (ACTIVATIONS.has(index.producer.get(v)?.node.op_type ?? "")) {
    v = index.producer.get(v)!.node.input[0]!;
  }
  const conv = index.producer.get(v)?.node;
  if (!conv || conv.op_type !== "Conv" || pooled.dims[1] !== classes) return undefined;
  // Nothing weighted may stand between the pooled map and the logits.
  const weighted = new Set(["Conv", "Gemm", "MatMul"]);
  const stack = [pooled.name];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    for (const consumer of index.consumers.get(value) ?? []) {
      if (weighted.has(consumer.op_type)) return undefined;
      stack.push(...consumer.output);
    }
  }
  let features = conv.input[0]!;
  while (
    ACTIVATIONS.has(index.producer.get(features)?.node.op_type ?? "") &&
    !layers.has(features)
  ) {
    features = index.producer.get(features)!.node.input[0]!;
  }
  return layers.get(features) ?? layers.get(index.producer.get(features)?.node.input[0] ?? "");
}

/** Values that a MatMul of two computed values (attention) reads from, directly or not. */
function attentionAncestors(model: OnnxModel, index: GraphIndex): Set<string> {
  const computed = new Set(model.inputs().map((i) => i.name));
  for (const node of model.graph.node) {
    if (node.input.some((i) => computed.has(i))) for (const o of node.output) computed.add(o);
  }
  const ancestors = new Set<string>();
  const stack: string[] = [];
  for (const node of model.graph.node) {
    const matmul = node.op_type === "MatMul" || node.op_type === "Einsum";
    if (matmul && node.input.filter((i) => computed.has(i)).length >= 2) stack.push(...node.input);
  }
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (ancestors.has(v) || !computed.has(v)) continue;
    ancestors.add(v);
    stack.push(...(index.producer.get(v)?.node.input ?? []));
  }
  return ancestors;
}

/** An initializer, a Constant, or an exporter's Identity alias of one. */
function isConstant(value: string, index: GraphIndex): boolean {
  if (index.initializers.has(value)) return true;
  const node = index.producer.get(value)?.node;
  if (node?.op_type === "Constant") return true;
  return node?.op_type === "Identity" && isConstant(node.input[0] ?? "", index);
}

/**
 * Whether a value is a layer normalisation's output: a LayerNormalization node, or the opset-13
 * decomposition's last step (x - mean) / sqrt(var + eps), then a scale and a shift by constants.
 */
function isNormalizationOutput(value: string, index: GraphIndex): boolean {
  let v = value;
  for (let step = 0; step < 3; step++) {
    const node = index.producer.get(v)?.node;
    if (!node) return false;
    if (node.op_type === "LayerNormalization") return true;
    if (node.op_type === "Div") {
      let divisor = index.producer.get(node.input[1] ?? "")?.node;
      if (divisor?.op_type === "Add") divisor = index.producer.get(divisor.input[0] ?? "")?.node;
      return divisor?.op_type === "Sqrt";
    }
    if (node.op_type !== "Add" && node.op_type !== "Mul") return false;
    // The affine part: one operand constant (either side), the other the normalised value.
    const computed = node.input.filter((i) => !isConstant(i, index));
    if (computed.length !== 1) return false;
    v = computed[0]!;
  }
  return false;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The layer names closest to `name`: substring matches first, then by edit distance. */
export function closeMatches(name: string, candidates: readonly string[], limit = 8): string[] {
  const lower = name.toLowerCase();
  return [...candidates]
    .map((c) => ({
      c,
      score: c.toLowerCase().includes(lower) ? -1 : editDistance(lower, c.toLowerCase()),
    }))
    .sort((x, y) => x.score - y.score)
    .slice(0, limit)
    .map((x) => x.c);
}

/** Resolves a user's layer name ("auto" for the default); an unknown name lists close matches. */
export function resolveLayer(
  model: OnnxModel,
  layers: readonly LayerInfo[],
  name: string,
): LayerInfo {
  if (name === "auto") return defaultLayer(model, layers);
  const found = layers.find((l) => l.name === name);
  if (found) return found;
  const names = layers.map((l) => l.name);
  throw new CamscopeError(
    "UNKNOWN_LAYER",
    `Model "${model.source}" has no spatial layer "${name}". Closest: ${closeMatches(name, names).join(", ")}. ` +
      `Run \`camscope layers --model ${model.source}\` to list all ${names.length}.`,
  );
}
