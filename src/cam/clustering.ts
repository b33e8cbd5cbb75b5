// Deterministic k-means of feature maps (Cluster-CAM). ml-kmeans runs Lloyd's iterations; the
// initial centres come from a farthest-point traversal instead of its random k-means++ so that a
// map never depends on a seed: the first centre is a given point, each next one the point whose
// squared Euclidean distance to its nearest chosen centre is largest (ties: the lowest index).
import { kmeans } from "ml-kmeans";

/**
 * Indices of `count` initial centres among the points [n, dim] (row-major), starting at `first`.
 * Once every point coincides with a centre (fewer distinct points than `count`), the traversal
 * repeats a point; equal centres yield one cluster and empty ones.
 */
export function farthestPointIndices(
  points: Float32Array,
  dim: number,
  count: number,
  first: number,
): number[] {
  const n = points.length / dim;
  const nearest = new Float64Array(n).fill(Infinity);
  const chosen: number[] = [];
  let next = first;
  while (chosen.length < count) {
    chosen.push(next);
    const centre = points.subarray(next * dim, (next + 1) * dim);
    let best = -1;
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let p = 0; p < dim; p++) {
        const diff = points[j * dim + p]! - centre[p]!;
        d += diff * diff;
      }
      if (d < nearest[j]!) nearest[j] = d;
      if (best < 0 || nearest[j]! > nearest[best]!) best = j;
    }
    next = best;
  }
  return chosen;
}

/**
 * Cluster index of each of the points [n, dim]: Lloyd's k-means (ml-kmeans: nearest centre with
 * ties to the lowest index, centres moved to their members' mean, an empty cluster keeping its
 * centre) from the farthest-point centres begun at `first`, until the assignment repeats or after
 * 100 assignments. k <= n.
 */
export function clusterPoints(
  points: Float32Array,
  dim: number,
  k: number,
  first: number,
): number[] {
  const n = points.length / dim;
  const data = Array.from({ length: n }, (_, j) =>
    Array.from(points.subarray(j * dim, (j + 1) * dim)),
  );
  const initialization = farthestPointIndices(points, dim, k, first).map((j) => [...data[j]!]);
  // Tolerance 0: the centres stop moving exactly when the assignment repeats. ml-kmeans' default
  // (1e-6 in squared distance) could stop while single reassignments in large clusters still move
  // centres by less than that.
  return kmeans(data, k, { initialization, maxIterations: 100, tolerance: 0 }).clusters;
}
