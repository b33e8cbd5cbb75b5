// Pointing Game (Zhang et al. 2016, "Top-down neural attention by excitation backprop"): a map
// scores a hit when its maximum lies within `tolerance` pixels (Euclidean, model-input pixels;
// the paper's 15 px were in original-image pixels) of the annotated object. The energy-based
// pointing game (Wang et al. 2020, Score-CAM) is the share of the map's energy inside the object.
// Both read the mask when the annotation has one, else the union of its boxes.
import { CamscopeError } from "../errors.ts";
import { mapCount, peakIndex, regionMask } from "./maps.ts";
import type { InputRegions } from "../image/regions.ts";

/**
 * Per map: 1 hit, 0 miss, -1 when its image has no annotation inside the input. The peak is the
 * first maximum in row-major order, so a constant map points at the top-left pixel.
 */
export function pointingGame(
  maps: Float32Array,
  height: number,
  width: number,
  regions: readonly InputRegions[],
  tolerance = 15,
): Int8Array {
  if (!(tolerance >= 0))
    throw new CamscopeError("INVALID_ARGUMENT", `tolerance must be >= 0, got ${tolerance}`);
  const n = mapCount(maps, height, width, regions);
  const area = height * width;
  const out = new Int8Array(n);
  const reach = Math.floor(tolerance);
  for (let i = 0; i < n; i++) {
    const mask = regionMask(regions[i]!, height, width);
    if (!mask) {
      out[i] = -1;
      continue;
    }
    const peak = peakIndex(maps.subarray(i * area, (i + 1) * area));
    const px = peak % width;
    const py = Math.floor(peak / width);
    let hit = false;
    for (let y = Math.max(0, py - reach); y <= Math.min(height - 1, py + reach) && !hit; y++) {
      for (let x = Math.max(0, px - reach); x <= Math.min(width - 1, px + reach); x++) {
        if (mask[y * width + x] && (x - px) ** 2 + (y - py) ** 2 <= tolerance * tolerance) {
          hit = true;
          break;
        }
      }
    }
    out[i] = hit ? 1 : 0;
  }
  return out;
}

/**
 * Per map: the share of its energy inside the object, sum over the object of max(map, 0) over
 * the sum everywhere (negative values carry no energy). An all-zero map scores 0 (no energy in
 * the object); NaN where the image has no annotation inside the input.
 */
export function energyPointing(
  maps: Float32Array,
  height: number,
  width: number,
  regions: readonly InputRegions[],
): Float32Array {
  const n = mapCount(maps, height, width, regions);
  const area = height * width;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const mask = regionMask(regions[i]!, height, width);
    if (!mask) {
      out[i] = NaN;
      continue;
    }
    let inside = 0;
    let total = 0;
    for (let p = 0; p < area; p++) {
      const v = Math.max(0, maps[i * area + p]!);
      total += v;
      if (mask[p]) inside += v;
    }
    out[i] = total > 0 ? inside / total : 0;
  }
  return out;
}
