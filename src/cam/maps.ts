// Array arithmetic on batches of feature maps ([N, K, h, w], row-major Float32Arrays).
import { EigenvalueDecomposition, Matrix } from "ml-matrix";

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
