// Sanity checks (Adebayo et al. 2018): an explanation that does not change when the model's
// weights are randomised does not explain the model. cascadingRandomization makes the models,
// re-initialising layers from the top down; the runner computes maps on each and compares them
// with the original model's maps by Spearman rank correlation (of the maps and of their absolute
// values) and SSIM.
import { CamscopeError } from "../errors.ts";
import { attrInt } from "../onnx/attributes.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { DataType, type NodeProto, type TensorProto } from "../onnx/proto.ts";
import { floatTensor } from "../onnx/tensor.ts";
import { createRng, deriveSeed } from "../util/random.ts";
import { sizeOf } from "../tensor/tensor.ts";

/** Ranks 1..n of the values, tied values sharing the mean of their ranks. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start + 1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson correlation of the average ranks; NaN if one is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Spearman correlation needs equal lengths, got ${a.length} and ${b.length}`,
    );
  }
  return rankCorrelation(averageRanks(a), averageRanks(b));
}

/**
 * Pearson correlation of two rank vectors (ranks 1..n, ties averaged, so both have mean
 * (n + 1) / 2); NaN if one is constant. Callers comparing many maps with one rank it once.
 */
export function rankCorrelation(ra: Float64Array, rb: Float64Array): number {
  const mean = (ra.length + 1) / 2;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < ra.length; i++) {
    const x = ra[i]! - mean;
    const y = rb[i]! - mean;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

const SSIM_WINDOW = 11;
const SSIM_SIGMA = 1.5;

/** Valid-mode separable filtering of an image [h, w] with a 1-D kernel along both axes. */
function filterValid(
  image: Float64Array,
  h: number,
  w: number,
  kernel: Float64Array,
): Float64Array {
  const k = kernel.length;
  const [oh, ow] = [h - k + 1, w - k + 1];
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += kernel[i]! * image[y * w + x + i]!;
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += kernel[i]! * rows[(y + i) * ow + x]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM (Wang et al. 2004) of two images [height, width] as given: an 11 x 11 Gaussian window
 * of sigma 1.5 (normalised to sum 1) at every position where it fits inside the image, weighted
 * local means, variances and covariance, C1 = (0.01 L)^2, C2 = (0.03 L)^2 for data range L.
 */
export function structuralSimilarity(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  height: number,
  width: number,
  dataRange = 1,
): number {
  if (a.length !== height * width || b.length !== height * width) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `SSIM needs two ${height}x${width} maps, got ${a.length} and ${b.length} values`,
    );
  }
  if (height < SSIM_WINDOW || width < SSIM_WINDOW) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `SSIM needs maps of at least ${SSIM_WINDOW}x${SSIM_WINDOW}, got ${height}x${width}`,
    );
  }
  const r = (SSIM_WINDOW - 1) / 2;
  const weights = Float64Array.from({ length: SSIM_WINDOW }, (_, i) =>
    Math.exp(-((i - r) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA)),
  );
  const total = weights.reduce((s, v) => s + v, 0);
  const kernel = weights.map((v) => v / total);
  const x = Float64Array.from(a);
  const y = Float64Array.from(b);
  const filter = (f: Float64Array) => filterValid(f, height, width, kernel);
  const muX = filter(x);
  const muY = filter(y);
  const xx = filter(x.map((v) => v * v));
  const yy = filter(y.map((v) => v * v));
  const xy = filter(x.map((v, i) => v * y[i]!));
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  let sum = 0;
  for (let i = 0; i < muX.length; i++) {
    const [mx, my] = [muX[i]!, muY[i]!];
    const vx = xx[i]! - mx * mx;
    const vy = yy[i]! - my * my;
    const cov = xy[i]! - mx * my;
    sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return sum / muX.length;
}

/** Per-map min-max normalisation to [0, 1]; a constant map becomes all zeros. */
export function minMaxNormalise(map: ArrayLike<number>): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    lo = Math.min(lo, map[i]!);
    hi = Math.max(hi, map[i]!);
  }
  const span = hi - lo;
  return Float64Array.from({ length: map.length }, (_, i) =>
    span > 0 ? (map[i]! - lo) / span : 0,
  );
}

/** SSIM of two maps after min-max normalising each, data range 1. */
export function ssim(a: Float32Array, b: Float32Array, height: number, width: number): number {
  return structuralSimilarity(minMaxNormalise(a), minMaxNormalise(b), height, width, 1);
}

/** A layer whose weights the cascade re-initialises, and what it re-initialises with them. */
export interface ParameterLayer {
  /** The node's name, else its first output. */
  name: string;
  node: NodeProto;
  /** Float initializers drawn anew from U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  random: string[];
  fanIn: number;
  /** A BatchNormalization reading the layer's output, reset as a fresh one (scale 1, bias 0, mean 0, var 1). */
  batchNorm?: NodeProto;
}

const LAYER_OPS = new Set(["Conv", "Gemm", "MatMul"]);

/** The fan-in of a weight tensor of this node (as PyTorch computes it for its default init). */
function fanIn(node: NodeProto, weight: TensorProto, position: number): number {
  const dims = weight.dims ?? [];
  if (node.op_type === "Conv") return sizeOf(dims.slice(1));
  if (node.op_type === "Gemm") {
    const trans = attrInt(node, position === 0 ? "transA" : "transB", 0) === 1;
    return position === 0 ? dims[trans ? 0 : 1]! : dims[trans ? 1 : 0]!;
  }
  // MatMul: the contracted axis is the weight's last (left operand) or second to last (right).
  return position === 0 ? dims[dims.length - 1]! : dims[dims.length - 2]!;
}

/**
 * The parameterised layers in graph order: Conv, Gemm and MatMul nodes with a float initializer
 * of rank >= 2 as weight (their other float initializers are biases), with a following bias Add
 * (MatMul) or BatchNormalization folded into the same layer.
 */
export function parameterLayers(model: OnnxModel): ParameterLayer[] {
  const { initializers, consumers } = model.index();
  const isFloat = (name: string) => initializers.get(name)?.data_type === DataType.FLOAT;
  const layers: ParameterLayer[] = [];
  for (const node of model.graph.node) {
    if (!LAYER_OPS.has(node.op_type ?? "")) continue;
    const params = node.input.filter((name) => name !== "" && isFloat(name));
    const position = node.input.findIndex(
      (name) => isFloat(name) && (initializers.get(name)!.dims ?? []).length >= 2,
    );
    if (position < 0) continue;
    const layer: ParameterLayer = {
      name: node.name || node.output[0]!,
      node,
      random: params,
      fanIn: fanIn(node, initializers.get(node.input[position]!)!, position),
    };
    const next = consumers.get(node.output[0]!) ?? [];
    if (next.length === 1) {
      const after = next[0]!;
      if (after.op_type === "BatchNormalization" && after.input[0] === node.output[0]) {
        layer.batchNorm = after;
      } else if (node.op_type === "MatMul" && after.op_type === "Add") {
        const bias = after.input.find((name) => name !== node.output[0] && isFloat(name));
        if (bias !== undefined && (initializers.get(bias)!.dims ?? []).length <= 1) {
          layer.random.push(bias);
        }
      }
    }
    layers.push(layer);
  }
  return layers;
}

/**
 * Cascading model-parameter randomization: step i re-initialises the last i + 1 parameterised
 * layers (parameterLayers, counted from the output) the way PyTorch initialises a fresh Conv2d or
 * Linear: weights and biases uniform in +-1/sqrt(fan-in); a BatchNormalization right after a
 * layer is reset with it to a fresh one's state. A layer's random values depend only on `seed`
 * and its name, so every step shares the values of the layers it has in common with the
 * previous one. `layer` names the layer step i adds. Initializers are shared with `model`
 * except the replaced ones.
 */
export function cascadingRandomization(
  model: OnnxModel,
  seed: number,
): {
  /** The layer this step re-initialised. */
  layer: string;
  /** The model with it and every later layer re-initialised. */
  model: OnnxModel;
}[] {
  const layers = parameterLayers(model).reverse();
  if (layers.length === 0) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Model "${model.source}" has no Conv, Gemm or MatMul layer with initializer weights to randomise`,
    );
  }
  const { initializers } = model.index();
  const replaced = new Map<string, TensorProto>();
  return layers.map((layer) => {
    const bound = 1 / Math.sqrt(layer.fanIn);
    for (const name of layer.random) {
      if (replaced.has(name)) continue;
      const dims = initializers.get(name)!.dims ?? [];
      const rng = createRng(deriveSeed(seed, layer.name, name));
      const values = Float32Array.from({ length: sizeOf(dims) }, () => rng.range(-bound, bound));
      replaced.set(name, floatTensor(name, dims, values));
    }
    if (layer.batchNorm) {
      const [, scale, bias, mean, variance] = layer.batchNorm.input;
      const fresh: [string | undefined, number][] = [
        [scale, 1],
        [bias, 0],
        [mean, 0],
        [variance, 1],
      ];
      for (const [name, value] of fresh) {
        const tensor = name === undefined ? undefined : initializers.get(name);
        if (!tensor || tensor.data_type !== DataType.FLOAT || replaced.has(name!)) continue;
        const dims = tensor.dims ?? [];
        replaced.set(name!, floatTensor(name!, dims, new Float32Array(sizeOf(dims)).fill(value)));
      }
    }
    const copy = model.clone(`${model.source} (randomised down to ${layer.name})`);
    copy.graph.initializer = copy.graph.initializer.map((t) => replaced.get(t.name ?? "") ?? t);
    return { layer: layer.name, model: copy };
  });
}
