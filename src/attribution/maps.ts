// Per-pixel maps from per-channel attributions, and their display scaling.
import { normalizeInPlace } from "../cam/maps.ts";
import type { ChannelReduction } from "./method.ts";

/**
 * [R, C, H, W] -> [R, H, W]: the sum over channels (signed methods: keeps completeness, the
 * map sums to the attribution's total) or the largest magnitude over channels (Simonyan et al.'s
 * saliency map, and the maps of the methods that average it).
 */
export function reduceChannels(
  values: ArrayLike<number>,
  dims: readonly number[],
  reduction: Exclude<ChannelReduction, "none">,
): Float32Array {
  const [rows, channels, height, width] = dims as [number, number, number, number];
  const area = height * width;
  const out = new Float32Array(rows * area);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < area; p++) {
      let acc = 0;
      for (let c = 0; c < channels; c++) {
        const v = values[(r * channels + c) * area + p]!;
        if (reduction === "sum") acc += v;
        else acc = Math.max(acc, Math.abs(v));
      }
      out[r * area + p] = acc;
    }
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
