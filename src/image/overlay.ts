// Blending a colour-mapped heatmap over the photo it explains.
import { CamscopeError } from "../errors.ts";
import type { ColormapName } from "./colormap.ts";
import { colormapTable, maxAbsOf } from "./colormap.ts";
import { mapToOriginal, resizeBilinear } from "./resize.ts";
import type { FloatMap, InputTransform, RgbImage } from "./types.ts";
import { assertFloatMap, assertRgbImage } from "./types.ts";

/**
 * How map values become colormap positions in [0, 1]:
 * - "minmax": the map's minimum -> 0 and maximum -> 1 (a constant map is all 0), as CAM tools do;
 * - "none": values are already in [0, 1] and are only clamped, so maps compare across images;
 * - "signed": 0 -> 0.5 and ±max|value| -> 0 / 1, for attributions with both signs.
 */
export type OverlayNormalize = "minmax" | "none" | "signed";

/** Options of {@link overlayHeatmap}. */
export interface OverlayOptions {
  /** Opacity of the heatmap colour, 0 (image only) to 1 (heatmap only); default 0.5. */
  alpha?: number;
  /** Default "jet", or "coolwarm" when normalize is "signed". */
  colormap?: ColormapName;
  /** Default "minmax". */
  normalize?: OverlayNormalize;
}

/**
 * Colours `map` and blends it over `image`: out = (1 - alpha) * image + alpha * colour, rounded.
 * The map may have any size; it is normalised and then resized to the image bilinearly (the
 * F.interpolate rule of resize.ts). NaN values (e.g. the "outside" mark of mapToOriginal) leave
 * the image pixel untouched.
 */
export function overlayHeatmap(
  image: RgbImage,
  map: FloatMap,
  options: OverlayOptions = {},
): RgbImage {
  assertRgbImage(image);
  assertFloatMap(map, "heatmap");
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1))
    throw new CamscopeError("INVALID_ARGUMENT", `alpha must be in [0, 1], got ${alpha}`);
  const normalize = options.normalize ?? "minmax";
  const table = colormapTable(options.colormap ?? (normalize === "signed" ? "coolwarm" : "jet"));

  const positions = normalizeMap(map.data, normalize);
  const resized =
    map.width === image.width && map.height === image.height
      ? positions
      : resizeBilinear(positions, 1, map.height, map.width, image.height, image.width);

  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < resized.length; i++) {
    const v = resized[i]!;
    const p = i * 3;
    if (Number.isNaN(v)) {
      out[p] = image.data[p]!;
      out[p + 1] = image.data[p + 1]!;
      out[p + 2] = image.data[p + 2]!;
      continue;
    }
    const t = Math.min(255, Math.max(0, Math.floor(v * 256))) * 3;
    for (let c = 0; c < 3; c++) {
      out[p + c] = Math.round((1 - alpha) * image.data[p + c]! + alpha * table[t + c]!);
    }
  }
  return { width: image.width, height: image.height, data: out };
}

/** Colormap positions for a map; linear, so normalising before resizing equals after. */
export function normalizeMap(values: Float32Array, mode: OverlayNormalize): Float32Array {
  const out = new Float32Array(values.length);
  if (mode === "none") {
    out.set(values);
    return out;
  }
  if (mode === "signed") {
    const m = maxAbsOf(values);
    for (let i = 0; i < values.length; i++) out[i] = (values[i]! / m + 1) / 2;
    return out;
  }
  if (mode !== "minmax") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown normalize mode "${String(mode)}" (valid: minmax, none, signed)`,
    );
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi > lo ? hi - lo : 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = range > 0 ? (values[i]! - lo) / range : Number.isNaN(values[i]!) ? NaN : 0;
  }
  return out;
}

/**
 * A map at model-input resolution carried back through the preprocessing (resize and centre crop)
 * onto the original photo and blended over it: the overlay every command and report shows.
 * Pixels the crop cut away were never seen and stay uncoloured.
 */
export function overlayOnOriginal(
  image: RgbImage,
  map: FloatMap,
  transform: InputTransform,
  options: OverlayOptions = {},
): RgbImage {
  return overlayHeatmap(image, mapToOriginal(map, transform, { outside: NaN }), options);
}
