// What each axis of each value means: batch, channels, height, width, or a sequence of tokens laid
// out on a spatial grid. Known at the image input (NCHW, after intake) and at ops whose semantics
// fix it (a Conv's output is NCHW), then carried through the graph op by op. It tells a CAM which
// values are feature maps and how to view them as [N, C, h, w]: channels-first maps (CNNs),
// channels-last grids (ConvNeXt blocks, Swin) and token sequences (vision transformers, whose
// patch tokens lie on the grid of their patch embedding, after class or distillation tokens).
import { attrInt, attrInts } from "./attributes.ts";
import type { GraphIndex, OnnxModel } from "./model.ts";
import type { NodeProto } from "./proto.ts";

/** N batch, C channels, H and W spatial, T tokens (prefix tokens, then an h x w grid row-major). */
export type AxisRole = "N" | "C" | "H" | "W" | "T";

export interface ValueLayout {
  roles: readonly AxisRole[];
  /** For token values: the patch grid [h, w] and the number of tokens before it. */
  grid?: readonly [number, number];
  prefix?: number;
}

// Ops whose (first) output is channels-first by definition.
const CHANNELS_FIRST = new Set([
  "Conv",
  "ConvTranspose",
  "MaxPool",
  "AveragePool",
  "LpPool",
  "GlobalAveragePool",
  "GlobalMaxPool",
  "GlobalLpPool",
  "DepthToSpace",
  "SpaceToDepth",
  "BatchNormalization",
  "InstanceNormalization",
  "LRN",
  "Resize",
  "Upsample",
]);

// Ops whose output has the layout of the input it is shaped like (elementwise ops, normalisations
// over the last axis).
const SAME_LAYOUT = new Set([
  "Relu",
  "LeakyRelu",
  "PRelu",
  "Elu",
  "Selu",
  "Sigmoid",
  "HardSigmoid",
  "HardSwish",
  "Tanh",
  "Softplus",
  "Clip",
  "Gelu",
  "Erf",
  "Exp",
  "Log",
  "Sqrt",
  "Reciprocal",
  "Neg",
  "Abs",
  "Identity",
  "Dropout",
  "Cast",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Max",
  "Min",
  "Sum",
  "Mean",
  "Where",
  "LayerNormalization",
]);

const REDUCTIONS = new Set(["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2"]);

// Ops that only re-view values.
const VIEWS = new Set(["Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity"]);

// Ops that keep the rank and the meaning of every axis but may change sizes (channel concats,
// crops, the shifted windows and patch merging of Swin).
const RESIZE_AXES = new Set(["Concat", "Slice", "Pad"]);

type Dims = ReadonlyMap<string, number[]>;

function same(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The layout of every value reached from `input` whose axes can be told, given the dims of each
 * value at batch 1 (from a probe run).
 */
export function inferLayouts(
  model: OnnxModel,
  probed: Dims,
  input: string,
): Map<string, ValueLayout> {
  // Constants' dims too (a linear layer's weight), which a probe run does not list.
  const dims = new Map(probed);
  for (const t of model.graph.initializer) if (t.name && t.dims) dims.set(t.name, [...t.dims]);
  const layouts = new Map<string, ValueLayout>();
  if (dims.get(input)?.length === 4) layouts.set(input, { roles: ["N", "C", "H", "W"] });
  const { producer } = model.index();
  for (const node of model.graph.node) {
    if (node.op_type === "Split") {
      // Every part keeps the meaning of every axis (ShuffleNet's channel split).
      const l = layouts.get(node.input[0] ?? "");
      for (const o of node.output)
        if (l && dims.get(o)?.length === l.roles.length) layouts.set(o, l);
      continue;
    }
    const out = node.output[0];
    if (!out) continue;
    const outDims = dims.get(out);
    if (!outDims) continue;
    const layout =
      layoutOf(node.op_type, node, outDims, dims, layouts) ??
      roundTrip(node.input[0], outDims, dims, layouts, producer);
    if (layout) layouts.set(out, layout);
  }
  return layouts;
}

function layoutOf(
  op: string,
  node: NodeProto,
  outDims: readonly number[],
  dims: Dims,
  layouts: ReadonlyMap<string, ValueLayout>,
): ValueLayout | undefined {
  const data = node.input[0] ?? "";
  const inLayout = layouts.get(data);
  const inDims = dims.get(data);
  if (CHANNELS_FIRST.has(op)) {
    return outDims.length === 4 ? { roles: ["N", "C", "H", "W"] } : undefined;
  }
  if (op === "Transpose" && inLayout) {
    const perm =
      attrInts(node, "perm") ?? inLayout.roles.map((_, i) => inLayout.roles.length - 1 - i);
    return { ...inLayout, roles: perm.map((p) => inLayout.roles[p]!) };
  }
  if (SAME_LAYOUT.has(op)) {
    // The first input of the output's exact shape that has a layout lends it (a bias or a
    // positional embedding added to tokens has none of its own).
    for (const i of node.input) {
      const l = layouts.get(i);
      if (l && same(dims.get(i), outDims)) return l;
    }
    return undefined;
  }
  if (RESIZE_AXES.has(op)) {
    const i = node.input.find((v) => layouts.get(v) && dims.get(v)?.length === outDims.length);
    const l = i === undefined ? undefined : layouts.get(i);
    if (!l) return undefined;
    if (op === "Concat") return concatLayout(node, l, outDims, dims, layouts);
    // Cutting tokens (dropping a class token) changes what the prefix is: not followed.
    const tokenAxis = l.roles.indexOf("T");
    return tokenAxis >= 0 && dims.get(i!)![tokenAxis] !== outDims[tokenAxis] ? undefined : l;
  }
  if (
    op === "MatMul" &&
    inLayout &&
    inLayout.roles.at(-1) === "C" &&
    outDims.length === inDims?.length
  ) {
    // A linear layer over the channels of each token or grid position (a constant weight).
    return dims.get(node.input[1] ?? "")?.length === 2 ? inLayout : undefined;
  }
  if ((op === "Reshape" || op === "Flatten") && inLayout && inDims) {
    if (same(inDims, outDims)) return inLayout;
    return tokensOf(inLayout, inDims, outDims);
  }
  if (REDUCTIONS.has(op)) {
    // With keepdims (the default) every axis keeps its meaning, reduced ones at size 1.
    return inLayout && inDims?.length === outDims.length ? inLayout : undefined;
  }
  return undefined;
}

/**
 * A value reshaped back to the dims of the last laid-out value before a chain of reshapes and
 * transposes has that value's layout: ShuffleNet's channel shuffle goes [N, C, H, W] ->
 * [N, g, C/g, H, W] -> transpose -> [N, C, H, W].
 */
function roundTrip(
  data: string | undefined,
  outDims: readonly number[],
  dims: Dims,
  layouts: ReadonlyMap<string, ValueLayout>,
  producer: GraphIndex["producer"],
): ValueLayout | undefined {
  let v = data;
  for (let step = 0; v !== undefined && step < 4; step++) {
    const l = layouts.get(v);
    if (l) return same(dims.get(v), outDims) ? l : undefined;
    const node = producer.get(v)?.node;
    if (!node || !VIEWS.has(node.op_type)) return undefined;
    v = node.input[0];
  }
  return undefined;
}

/**
 * A grid flattened into tokens: [N, C, H, W] -> [N, C, H*W], or [N, H, W, C] -> [N, H*W, C].
 */
function tokensOf(
  l: ValueLayout,
  inDims: readonly number[],
  outDims: readonly number[],
): ValueLayout | undefined {
  const r = l.roles.join("");
  if (outDims.length !== 3 || outDims[0] !== inDims[0]) return undefined;
  if (r === "NCHW" && outDims[1] === inDims[1] && outDims[2] === inDims[2]! * inDims[3]!) {
    return { roles: ["N", "C", "T"], grid: [inDims[2]!, inDims[3]!], prefix: 0 };
  }
  if (r === "NHWC" && outDims[2] === inDims[3] && outDims[1] === inDims[1]! * inDims[2]!) {
    return { roles: ["N", "T", "C"], grid: [inDims[1]!, inDims[2]!], prefix: 0 };
  }
  return undefined;
}

/** Tokens concatenated after others (a class token) move the grid back by their count. */
function concatLayout(
  node: NodeProto,
  l: ValueLayout,
  outDims: readonly number[],
  dims: Dims,
  layouts: ReadonlyMap<string, ValueLayout>,
): ValueLayout | undefined {
  const rank = outDims.length;
  const axis = (attrInt(node, "axis", 0) + rank) % rank;
  if (l.roles[axis] !== "T") return l;
  let prefix = 0;
  for (const i of node.input) {
    const d = dims.get(i);
    const own = layouts.get(i);
    if (own?.grid) return { ...own, prefix: prefix + (own.prefix ?? 0) };
    prefix += d?.[axis] ?? 0;
  }
  return undefined;
}
