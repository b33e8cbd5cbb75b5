// Clipping heavy-tailed maps for display. On photos a few pixels of a gradient or relevance map
// are far larger than the rest, so a map divided by its largest magnitude shows almost nothing
// else. The display is therefore scaled by a percentile of |map| and what lies above it
// saturates. Only the display is clipped: the maps themselves are left as computed.
//
// The percentile is over pixels (numpy's percentile of |map|, as the PAIR saliency library's
// displays use the 99th). Captum's visualize_image_attr calls its threshold a percentile too
// (outlier_perc = 2), but it is one of attribution mass: the smallest |value| at which the sorted
// running sum reaches 98 % of the total. On real photos that leaves a handful of pixels carrying 2 %
// of the mass saturated and the rest almost blank (1-3 % of an overlay visibly coloured, measured
// on a photo-like image), which is the problem clipping is meant to solve; the pixel percentile
// at 99 colours the structure.
import { CamscopeError } from "../errors.ts";

/** The default display clip: the 99th percentile of |map|. */
export const DEFAULT_CLIP_PERCENTILE = 99;

/**
 * The display scale of a map clipped at `percentile`: the `percentile`-th percentile of |value|
 * over the finite values (NaN marks pixels outside the crop), interpolated linearly between
 * ranks as numpy.percentile does. 100 gives the largest |value|; an all-zero or empty map gives 0.
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
  if (magnitudes.length === 0) return 0;
  const sorted = Float64Array.from(magnitudes).sort();
  const rank = (percentile / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  const lo = sorted[below]!;
  return lo + (rank - below) * (sorted[above]! - lo);
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
