// How concentrated a map is, on its absolute values |m| flattened (as Quantus does):
// - sparseness: the Gini index of |m| (Chalasani et al. 2020): 0 for a uniform map, (n - 1) / n
//   for a map with one non-zero pixel; higher is sparser.
// - complexity: the entropy (natural log) of |m| / sum |m| (Bhatt et al. 2020): 0 for one
//   non-zero pixel, ln(n) for a uniform map; lower is simpler.
// An all-zero map has neither: NaN.
import { mapCount } from "./maps.ts";

/** Gini index of the values: sum_k (2k - n - 1) v_(k) / (n sum v), v sorted ascending, k from 1. */
export function gini(values: Float64Array): number {
  const sorted = values.slice().sort();
  const n = sorted.length;
  let weighted = 0;
  let total = 0;
  for (let k = 0; k < n; k++) {
    weighted += (2 * (k + 1) - n - 1) * sorted[k]!;
    total += sorted[k]!;
  }
  return total > 0 ? weighted / (n * total) : NaN;
}

function absolute(maps: Float32Array, i: number, area: number): Float64Array {
  return Float64Array.from(maps.subarray(i * area, (i + 1) * area), Math.abs);
}

/** Per map: the Gini index of |map|. */
export function sparseness(maps: Float32Array, height: number, width: number): Float32Array {
  const n = mapCount(maps, height, width);
  const area = height * width;
  return Float32Array.from({ length: n }, (_, i) => gini(absolute(maps, i, area)));
}

/** Per map: the entropy of |map| normalised to sum 1. */
export function complexity(maps: Float32Array, height: number, width: number): Float32Array {
  const n = mapCount(maps, height, width);
  const area = height * width;
  return Float32Array.from({ length: n }, (_, i) => {
    const values = absolute(maps, i, area);
    const total = values.reduce((a, b) => a + b, 0);
    if (!(total > 0)) return NaN;
    let entropy = 0;
    for (const v of values) if (v > 0) entropy -= (v / total) * Math.log(v / total);
    return entropy;
  });
}
