// Clipping heavy-tailed maps for display. On photos a few pixels of a gradient or relevance map
// are far larger than the rest, so a map divided by its largest magnitude shows almost nothing
// else. Captum's visualize_image_attr therefore scales by an outlier threshold instead
// (outlier_perc, default 2) and saturates what lies above it; camscope uses the same threshold.
// Only the display is clipped: the maps themselves are left as computed.
import { CamscopeError } from "../errors.ts";

/** The default display clip: Captum's `outlier_perc = 2`. */
export const DEFAULT_CLIP_PERCENTILE = 98;

/**
 * The display scale of a map clipped at `percentile`, as Captum computes it
 * (`_cumulative_sum_threshold` of visualization.py): sort |values| in increasing order and take
 * the first at which the running sum reaches `percentile` % of the total. The values above it
 * carry at most 100 - percentile % of the map's total |value| (not of its pixels) and saturate
 * the colormap. `percentile` 100 gives the largest |value|. Sums run in float64 (Captum sums in
 * the map's own precision); non-finite values (NaN marks of pixels outside the crop) are skipped.
 * An all-zero or empty map gives 0.
 */
export function clipThreshold(values: ArrayLike<number>, percentile: number): number {
  if (!(percentile > 0 && percentile <= 100)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `The clip percentile must be in (0, 100], got ${percentile}`,
    );
  }
  const magnitudes: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (Number.isFinite(a)) magnitudes.push(a);
  }
  const sorted = Float64Array.from(magnitudes).sort();
  let total = 0;
  for (const a of sorted) total += a;
  if (!(total > 0)) return 0;
  // The running sum below repeats the total's additions in the same order, so at 100 it reaches
  // the total exactly, at the largest value.
  const target = total * 0.01 * percentile;
  let sum = 0;
  for (const a of sorted) {
    sum += a;
    if (sum >= target) return a;
  }
  return sorted[sorted.length - 1]!;
}

/**
 * `values` divided by `threshold` and clamped to [-1, 1] when `signed`, else to [0, 1]: the
 * colormap positions of a clipped map (signed: -1 and 1 are the ends, 0 the middle). A threshold
 * of 0 (an all-zero map) leaves the values as they are; NaN stays NaN.
 */
export function clipToThreshold(
  values: ArrayLike<number>,
  threshold: number,
  signed: boolean,
): Float32Array {
  const lo = signed ? -1 : 0;
  const out = Float32Array.from(values);
  if (!(threshold > 0)) return out;
  for (let i = 0; i < out.length; i++) {
    const v = out[i]! / threshold;
    out[i] = v < lo ? lo : v > 1 ? 1 : v;
  }
  return out;
}
