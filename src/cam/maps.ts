// Array arithmetic on batches of feature maps ([N, K, h, w], row-major Float32Arrays).
import { Matrix, SVD } from "ml-matrix";

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

/**
 * The projection of each image's [h*w, K] matrix (positions x channels, centred per channel) on
 * its first principal component: Eigen-CAM and eigen smoothing. A principal component's sign is
 * arbitrary, and the projection of centred data sums to zero, so its sum cannot orient it: the
 * sign is chosen so the projection correlates non-negatively with the uncentred channel-mean map
 * (high where the feature maps are high).
 */
export function firstComponentProjection(
  values: Float32Array,
  dims: readonly number[],
): Float32Array {
  const [n, k, h, w] = dims as [number, number, number, number];
  const area = h * w;
  const out = new Float32Array(n * area);
  for (let i = 0; i < n; i++) {
    const m = new Matrix(area, k);
    const channelMean = new Float64Array(area);
    for (let c = 0; c < k; c++) {
      let mean = 0;
      for (let p = 0; p < area; p++) mean += values[(i * k + c) * area + p]!;
      mean /= area;
      for (let p = 0; p < area; p++) {
        const v = values[(i * k + c) * area + p]!;
        m.set(p, c, v - mean);
        channelMean[p]! += v / k;
      }
    }
    const v = new SVD(m, {
      computeLeftSingularVectors: false,
      autoTranspose: true,
    }).rightSingularVectors.getColumn(0);
    const projection = m.mmul(Matrix.columnVector(v)).getColumn(0);
    const sign = projection.reduce((a, v, p) => a + v * channelMean[p]!, 0) < 0 ? -1 : 1;
    projection.forEach((p, j) => (out[i * area + j] = sign * p));
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
  const area = values.length / n;
  for (let i = 0; i < n; i++) {
    const map = values.subarray(i * area, (i + 1) * area);
    let min = Infinity;
    let max = -Infinity;
    for (const v of map) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const range = max - min;
    for (let j = 0; j < area; j++) map[j] = range > 0 ? (map[j]! - min) / range : 0;
  }
  return values;
}
