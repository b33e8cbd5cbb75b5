// Layer discovery: the 4-D spatial activations a CAM can target, and a sensible default.
import { CamscopeError } from "../errors.ts";
import type { OnnxModel } from "./model.ts";

/** A 4-D spatial activation a CAM method can explain. */
export interface LayerInfo {
  /** The ONNX value name; this is what `--layer` takes. */
  name: string;
  /** The op type of the node that produces it. */
  op: string;
  /** The producing node's name, if it has one. */
  node: string;
  /** Dims at the model's input size, batch 1 ([1, C, H, W]). */
  dims: number[];
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

/** Every 4-D activation with more than one spatial position, in graph order. */
export function listLayers(model: OnnxModel, shapes: ReadonlyMap<string, number[]>): LayerInfo[] {
  const layers: LayerInfo[] = [];
  const seen = new Set<string>();
  for (const node of model.graph.node) {
    for (const out of node.output) {
      const dims = shapes.get(out);
      if (!dims || dims.length !== 4 || seen.has(out)) continue;
      if (dims[2]! * dims[3]! <= 1) continue;
      seen.add(out);
      layers.push({ name: out, op: node.op_type, node: node.name ?? "", dims });
    }
  }
  return layers;
}

/**
 * The default CAM target: the last spatial activation that feeds a global pooling, flatten or
 * reshape (squeeze-excitation blocks pool too, so the last one in graph order is the head's), or
 * the last spatial activation if no such node exists.
 */
export function defaultLayer(model: OnnxModel, layers: readonly LayerInfo[]): LayerInfo {
  if (layers.length === 0) {
    throw new CamscopeError(
      "UNKNOWN_LAYER",
      `Model "${model.source}" has no 4-D spatial activation to explain`,
    );
  }
  const byName = new Map(layers.map((l) => [l.name, l]));
  let best: LayerInfo | undefined;
  for (const node of model.graph.node) {
    if (!TO_VECTOR.has(node.op_type)) continue;
    const layer = byName.get(node.input[0] ?? "");
    if (layer) best = layer;
  }
  return best ?? layers[layers.length - 1]!;
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
