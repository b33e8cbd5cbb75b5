// What the map metrics share: the [N, H, W] map layout, the annotation of each map's image in
// the model-input frame, and that annotation as a pixel mask.
import { CamscopeError } from "../errors.ts";
import type { InputRegions } from "../image/regions.ts";

/**
 * How a metric reads a signed map (one taking both signs, in [-1, 1]: Integrated Gradients, LRP,
 * occlusion, ...), as Quantus' `abs` option does per metric:
 * - "signed": as it is; orderings put negative evidence last and the peak is the largest value.
 * - "positive": its positive part max(v, 0), the evidence for the class; where the map is used as
 *   a mask or thresholded at a share of its maximum.
 * - "absolute": |v|, evidence of either sign; where the metric needs non-negative mass.
 * An unsigned map ([0, 1]) reads the same all three ways.
 */
export type SignedReading = "signed" | "positive" | "absolute";

/** `maps` as `reading` says (a copy, or `maps` itself for "signed"). */
export function readSigned(maps: Float32Array, reading: SignedReading): Float32Array {
  switch (reading) {
    case "signed":
      return maps;
    case "positive":
      return maps.map((v) => (v > 0 ? v : 0));
    case "absolute":
      return maps.map(Math.abs);
  }
}

/** The number of maps in `maps` ([N, height, width]); throws when the sizes disagree. */
export function mapCount(
  maps: Float32Array,
  height: number,
  width: number,
  regions?: readonly InputRegions[],
): number {
  const area = height * width;
  if (!Number.isSafeInteger(area) || area <= 0 || maps.length % area !== 0) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `maps hold ${maps.length} values, not a whole number of ${height}x${width} maps`,
    );
  }
  const n = maps.length / area;
  if (regions && regions.length !== n) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `${n} maps need as many annotations, got ${regions.length}`,
    );
  }
  return n;
}

/**
 * The annotated pixels: the mask when there is one (it is the finer annotation), else the union
 * of the boxes; undefined when nothing is annotated inside the input (no boxes, an empty mask).
 */
export function regionMask(
  region: InputRegions,
  height: number,
  width: number,
): Uint8Array | undefined {
  let mask: Uint8Array;
  if (region.mask) {
    if (region.mask.length !== height * width) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `an annotation mask holds ${region.mask.length} values, expected ${height}x${width}`,
      );
    }
    mask = region.mask;
  } else {
    mask = new Uint8Array(height * width);
    for (const { x0, y0, x1, y1 } of region.boxes) {
      for (let y = Math.max(0, y0); y < Math.min(height, y1); y++) {
        mask.fill(1, y * width + Math.max(0, x0), y * width + Math.min(width, x1));
      }
    }
  }
  return mask.some((v) => v !== 0) ? mask : undefined;
}

/** Index of the largest value of one map; ties go to the first in row-major order. */
export function peakIndex(map: Float32Array): number {
  let best = 0;
  for (let p = 1; p < map.length; p++) if (map[p]! > map[best]!) best = p;
  return best;
}
