// How a map is shown: its colormap positions (CAM maps as they are; pixel attributions clipped
// at the 99th percentile of |value|, signed ones around 0 on a diverging colormap, or their
// magnitude when the signed display is off), carried back onto the photo through the
// preprocessing and blended over it. The rules follow `camscope explain`'s overlays; the explain
// service of the explain core will draw these itself.
import { clipThreshold, clipToThreshold, DEFAULT_CLIP_PERCENTILE } from "../../src/image/clip.ts";
import type { ColormapName } from "../../src/image/colormap.ts";
import type { ColorBar } from "../../src/image/grid.ts";
import { overlayHeatmap } from "../../src/image/overlay.ts";
import { mapToOriginal } from "../../src/image/resize.ts";
import type { FloatMap, InputTransform, RgbImage } from "../../src/image/types.ts";

export interface DisplayStyle {
  colormap: ColormapName;
  alpha: number;
  /** Show signed maps with their sign (diverging colormap) rather than their magnitude. */
  signed: boolean;
}

export interface MapToShow {
  /** The final map at model-input size. */
  map: Float32Array;
  /** The values hover reads: a CAM's final map, a pixel method's attribution (input size). */
  values: Float32Array;
  width: number;
  height: number;
  pixel: boolean;
  signed: boolean;
}

export interface Shown {
  overlay: RgbImage;
  colorBar: ColorBar;
  /** `values` carried onto the photo (NaN where the crop cut it away), for hover. */
  valuesOnPhoto: FloatMap;
}

function diverging(colormap: ColormapName): ColormapName {
  return colormap === "bwr" || colormap === "coolwarm" ? colormap : "coolwarm";
}

function format(v: number): string {
  return Math.abs(v) >= 0.01 || v === 0 ? v.toPrecision(3) : v.toExponential(2);
}

/** The overlay of one map on its photo, with the colour bar it was drawn with. */
export function showMap(
  shown: MapToShow,
  photo: RgbImage,
  transform: InputTransform,
  style: DisplayStyle,
): Shown {
  const { width, height } = shown;
  let positions: Float32Array;
  let colormap = style.colormap;
  let labels: [string, string, string];
  if (!shown.pixel) {
    positions = shown.map;
    labels = ["0", "", "1"];
  } else if (shown.signed && style.signed) {
    const threshold = clipThreshold(shown.map, DEFAULT_CLIP_PERCENTILE);
    positions = clipToThreshold(shown.map, threshold, true).map((v) => (v + 1) / 2);
    colormap = diverging(style.colormap);
    let end = 0;
    for (const v of shown.values) end = Math.max(end, Math.abs(v));
    end *= threshold > 0 ? threshold : 1;
    labels = [format(-end), "0", format(end)];
  } else {
    const magnitude = shown.signed ? shown.map.map(Math.abs) : shown.map;
    const threshold = clipThreshold(magnitude, DEFAULT_CLIP_PERCENTILE);
    positions = clipToThreshold(magnitude, threshold, false);
    labels = ["low", "", `high (clip ${DEFAULT_CLIP_PERCENTILE}%)`];
  }
  // Pixels the centre crop cut away were never seen: NaN leaves them uncoloured.
  const onPhoto = mapToOriginal({ width, height, data: positions }, transform, { outside: NaN });
  const overlay = overlayHeatmap(photo, onPhoto, {
    colormap,
    alpha: style.alpha,
    normalize: "none",
  });
  const valuesOnPhoto = mapToOriginal({ width, height, data: shown.values }, transform, {
    outside: NaN,
  });
  return { overlay, colorBar: { colormap, labels }, valuesOnPhoto };
}
