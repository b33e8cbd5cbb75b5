// Array arithmetic on batches of maps: feature maps [N, K, h, w] (the CAM family), per-pixel
// attributions [R, C, H, W] (pixel attribution, LRP), all row-major Float32Arrays.
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { resizeBilinear } from "../image/resize.ts";
import type { FloatTensor } from "./tensor.ts";

/** sum_k w[n, k] A[n, k] -> [N, h, w]. */
export function weightedSum(
  activations: Float32Array,
  weights: Float32Array,
  dims: readonly number[],
): Float32Array {
  const [n, k, h, w] = dims as [number, number, number, number];
  const area = h * w;
  const out = new Float32Array(n * area);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const wc = weights[i * k + c]!;
      if (wc === 0) continue;
      const src = (i * k + c) * area;
      for (let p = 0; p < area; p++) out[i * area + p]! += wc * activations[src + p]!;
    }
  }
  return out;
}

/** sum over channels of [N, K, h, w] -> [N, h, w]. */
export function channelSum(values: Float32Array, dims: readonly number[]): Float32Array {
  return weightedSum(values, new Float32Array(dims[0]! * dims[1]!).fill(1), dims);
}

/** Per image and channel, the sum over positions: [N, K, h, w] -> [N, K]. */
export function spatialSum(values: Float32Array, dims: readonly number[]): Float32Array {
  const [n, k, h, w] = dims as [number, number, number, number];
  const area = h * w;
  const out = new Float32Array(n * k);
  for (let j = 0; j < n * k; j++) {
    let s = 0;
    for (let p = 0; p < area; p++) s += values[j * area + p]!;
    out[j] = s;
  }
  return out;
}

/** Per image and channel, the mean over positions: [N, K, h, w] -> [N, K] (Grad-CAM's weights). */
export function spatialMean(values: Float32Array, dims: readonly number[]): Float32Array {
  const area = dims[2]! * dims[3]!;
  return spatialSum(values, dims).map((s) => s / area);
}

/**
 * The top eigenvector of a symmetric n x n matrix (row-major), unit length, and its eigenvalue.
 */
function topEigenvector(gram: Float64Array, n: number): { vector: Float64Array; value: number } {
  const rows = Array.from({ length: n }, (_, r) => Array.from(gram.subarray(r * n, (r + 1) * n)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  let top = 0;
  for (let j = 1; j < n; j++) if (values[j]! > values[top]!) top = j;
  return { vector: Float64Array.from(evd.eigenvectorMatrix.getColumn(top)), value: values[top]! };
}

/**
 * The projection of each image's [h*w, K] matrix M (positions x channels, centred per channel) on
 * its first principal component: Eigen-CAM and eigen smoothing. The projection M v1 (v1 the first
 * right singular vector) is sigma1 u1, computed from the smaller Gram matrix: the top eigenvector
 * u1 of M M^T (h*w x h*w, e.g. 49 x 49 on a 7 x 7 layer) times the root of its eigenvalue, or
 * M v1 with v1 the top eigenvector of M^T M when there are fewer channels than positions. Both are
 * exact; a full SVD of M cost 150-250 ms per image at 2048 x 49 (ResNet-50) against about 1 ms.
 * A principal component's sign is arbitrary, and the projection of centred data sums to zero, so
 * its sum cannot orient it: the sign is chosen so the projection correlates non-negatively with
 * the uncentred channel-mean map (high where the feature maps are high).
 */
export function firstComponentProjection(
  values: Float32Array,
  dims: readonly number[],
): Float32Array {
  const [n, k, h, w] = dims as [number, number, number, number];
  const area = h * w;
  const out = new Float32Array(n * area);
  // Centred channels, channel-major: m[c * area + p].
  const m = new Float64Array(k * area);
  const channelMean = new Float64Array(area);
  const byPositions = area <= k;
  const size = byPositions ? area : k;
  const gram = new Float64Array(size * size);
  const projection = new Float64Array(area);
  for (let i = 0; i < n; i++) {
    channelMean.fill(0);
    for (let c = 0; c < k; c++) {
      const src = (i * k + c) * area;
      let mean = 0;
      for (let p = 0; p < area; p++) mean += values[src + p]!;
      mean /= area;
      for (let p = 0; p < area; p++) {
        const v = values[src + p]!;
        m[c * area + p] = v - mean;
        channelMean[p]! += v / k;
      }
    }
    gram.fill(0);
    if (byPositions) {
      // M M^T[p, q] = sum_c m[c, p] m[c, q] (upper triangle, then mirrored).
      for (let c = 0; c < k; c++) {
        const row = c * area;
        for (let p = 0; p < area; p++) {
          const mp = m[row + p]!;
          if (mp === 0) continue;
          for (let q = p; q < area; q++) gram[p * area + q]! += mp * m[row + q]!;
        }
      }
    } else {
      // M^T M[a, b] = sum_p m[a, p] m[b, p].
      for (let a = 0; a < k; a++) {
        for (let b = a; b < k; b++) {
          let s = 0;
          for (let p = 0; p < area; p++) s += m[a * area + p]! * m[b * area + p]!;
          gram[a * k + b] = s;
        }
      }
    }
    for (let r = 0; r < size; r++)
      for (let q = 0; q < r; q++) gram[r * size + q] = gram[q * size + r]!;
    const { vector, value } = topEigenvector(gram, size);
    if (byPositions) {
      const sigma = Math.sqrt(Math.max(0, value));
      for (let p = 0; p < area; p++) projection[p] = sigma * vector[p]!;
    } else {
      projection.fill(0);
      for (let c = 0; c < k; c++) {
        const vc = vector[c]!;
        for (let p = 0; p < area; p++) projection[p]! += m[c * area + p]! * vc;
      }
    }
    let agreement = 0;
    for (let p = 0; p < area; p++) agreement += projection[p]! * channelMean[p]!;
    const sign = agreement < 0 ? -1 : 1;
    for (let p = 0; p < area; p++) out[i * area + p] = sign * projection[p]!;
  }
  return out;
}

/** max(0, x) in place. */
export function reluInPlace(values: Float32Array): Float32Array {
  for (let j = 0; j < values.length; j++) if (!(values[j]! > 0)) values[j] = 0;
  return values;
}

/**
 * Per-map min-max normalisation to [0, 1] in place ([N, area]); a constant map becomes 0.
 */
export function normalizeInPlace(values: Float32Array, n: number): Float32Array {
  // Indexed loops and plain comparisons: twice as fast as iterators with Math.min/max on
  // [16, 128, 128] maps, and the same values (the inputs are finite, checked upstream).
  const area = values.length / n;
  for (let i = 0; i < n; i++) {
    const start = i * area;
    const end = start + area;
    let min = Infinity;
    let max = -Infinity;
    for (let j = start; j < end; j++) {
      const v = values[j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const range = max - min;
    if (range > 0) for (let j = start; j < end; j++) values[j] = (values[j]! - min) / range;
    else values.fill(0, start, end);
  }
  return values;
}

/**
 * [R, C, H, W] -> [R, H, W]: the sum over channels (signed methods: keeps completeness, the
 * map sums to the attribution's total) or the largest magnitude over channels (Simonyan et al.'s
 * saliency map, and the maps of the methods that average it).
 */
export function reduceChannels(
  values: ArrayLike<number>,
  dims: readonly number[],
  reduction: "sum" | "max-abs",
): Float32Array {
  const [rows, channels, height, width] = dims as [number, number, number, number];
  const area = height * width;
  const out = new Float32Array(rows * area);
  // Channel planes are walked contiguously (a pixel's channels lie `area` apart); sums run in
  // double, channel by channel in order, as a per-pixel loop would add them.
  const acc = new Float64Array(area);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let c = 0; c < channels; c++) {
      const base = (r * channels + c) * area;
      if (reduction === "sum") for (let p = 0; p < area; p++) acc[p] = acc[p]! + values[base + p]!;
      else for (let p = 0; p < area; p++) acc[p] = Math.max(acc[p]!, Math.abs(values[base + p]!));
    }
    out.set(acc, r * area);
  }
  return out;
}

/**
 * The map shown and written as the final map: a signed map divided by its largest magnitude
 * (into [-1, 1], 0 stays 0), an unsigned one min-max normalised into [0, 1] as CAM maps are.
 * Per row; an all-zero map stays zero.
 */
export function displayMap(attribution: Float32Array, rows: number, signed: boolean): Float32Array {
  const out = Float32Array.from(attribution);
  if (!signed) return normalizeInPlace(out, rows);
  const area = out.length / rows;
  for (let r = 0; r < rows; r++) {
    const map = out.subarray(r * area, (r + 1) * area);
    let m = 0;
    for (const v of map) m = Math.max(m, Math.abs(v));
    if (m > 0) for (let j = 0; j < area; j++) map[j] = map[j]! / m;
  }
  return out;
}

/** Softmax of each row of a [rows, n] array, computed in double. */
export function softmaxRows(values: Float32Array, rows: number): Float32Array {
  const n = values.length / rows;
  const out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) {
    const row = values.subarray(i * n, (i + 1) * n);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    for (let k = 0; k < n; k++) out[i * n + k] = Math.exp(row[k]! - max) / sum;
  }
  return out;
}

/**
 * The final CAM maps of raw maps at one or several layers ([N, h, w] each): per layer ReLU (unless
 * `relu` is false), per-map min-max normalisation and bilinear upsampling to [height, width]; then
 * the layers' mean (one layer: itself) min-max normalised again, so a final map spans exactly
 * [0, 1] whatever the number of layers (bilinear upsampling can miss a layer map's extremes).
 * pytorch-grad-cam's convention. [N, height, width].
 */
export function finalCamMaps(
  raw: readonly FloatTensor[],
  relu: boolean,
  [height, width]: readonly [number, number],
): FloatTensor {
  const rows = raw[0]!.dims[0]!;
  const upsampled = raw.map(({ data, dims }) => {
    const post = Float32Array.from(data);
    if (relu) reluInPlace(post);
    normalizeInPlace(post, rows);
    return resizeBilinear(post, rows, dims[1]!, dims[2]!, height, width);
  });
  return { data: fuseLayers(upsampled, rows), dims: [rows, height, width] };
}

/** Maps of one or several layers (each normalised, at input size): their mean, normalised again. */
function fuseLayers(maps: readonly Float32Array[], rows: number): Float32Array {
  if (maps.length === 1) return normalizeInPlace(maps[0]!, rows);
  const out = new Float32Array(maps[0]!.length);
  for (const m of maps) for (let j = 0; j < out.length; j++) out[j]! += m[j]! / maps.length;
  return normalizeInPlace(out, rows);
}
