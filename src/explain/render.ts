// Pictures of an explanation: per target row, each method's map as an overlay on the original
// image (carried back through the preprocessing), with its colour bar and caption, and a grid
// comparing the methods. RGB buffers only: writing them is an adapter's job (src/io/png.ts).
//
// Layer-level (CAM) maps are in [0, 1] already. An input-level map (pixel attribution, LRP) is
// clipped at a percentile of |map| (image/clip.ts), and its colour bar and caption give the
// attribution values at the colormap's ends and its whole range; signed maps get a diverging
// colormap centred on 0.
import { clipThreshold, clipToThreshold, DEFAULT_CLIP_PERCENTILE } from "../image/clip.ts";
import type { ColormapName } from "../image/colormap.ts";
import { makeGrid, type ColorBar, type GridCell } from "../image/grid.ts";
import { overlayOnOriginal } from "../image/overlay.ts";
import type { InputTransform, RgbImage } from "../image/types.ts";
import type { ScoreKind } from "../runtime/targets.ts";
import type { Explanation, MethodResult } from "./explanation.ts";

/** How maps are drawn. */
export interface RenderStyle {
  /** The colormap of unsigned maps (and of signed ones when it is diverging). Default "jet". */
  colormap?: ColormapName;
  /** Heatmap opacity, 0 to 1. Default 0.5. */
  alpha?: number;
  /** Display clip percentile of input-level maps (clipThreshold); 100: none. Default 99. */
  clip?: number;
  /** Grid columns. Default 5. */
  columns?: number;
  /** Grid cells are scaled to fit this box (pixels). Default 256. */
  cellSize?: number;
}

/** An image explained, as rendering needs it. */
export interface RenderImage {
  /** The original image. */
  rgb: RgbImage;
  /** How preprocessing mapped it to the model input. */
  transform: InputTransform;
  /** Its name in captions (e.g. the file name). */
  name: string;
}

/** One method's picture of one target. */
export interface RenderedMap {
  /** The overlay on the original image, at its size. */
  overlay: RgbImage;
  /** The colour bar shown beside it in the grid. */
  colorBar: ColorBar;
  /** The caption: method, class and score, and for input-level maps their value range. */
  caption: string;
  /** Input-level maps: the attribution values at the colormap's two ends. */
  colorRange?: [number, number];
}

/** The pictures of one target row. */
export interface RenderedTarget {
  /** The row of the explanation. */
  row: number;
  /** One per method, in the explanation's order. */
  maps: RenderedMap[];
  /** The original image and every overlay with its colour bar, captioned. */
  grid: RgbImage;
}

/** The style of overlays and grids when none is given (that of the command line). */
export const DEFAULT_RENDER_STYLE: Required<RenderStyle> = {
  colormap: "jet",
  alpha: 0.5,
  clip: DEFAULT_CLIP_PERCENTILE,
  columns: 5,
  cellSize: 256,
};

/** A value for a label: three significant digits, exponent form when very large or small. */
export function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 0.01 && a < 10_000) return String(Number(v.toPrecision(3)));
  return v.toExponential(2);
}

/** A target score as captions show it. */
export function formatScore(score: number, kind: ScoreKind): string {
  return kind === "logit" ? `logit ${score.toFixed(2)}` : `p ${score.toFixed(3)}`;
}

/** The diverging colormap of a signed map: the style's if it is diverging, else coolwarm. */
function signedColormap(colormap: ColormapName): ColormapName {
  return colormap === "bwr" || colormap === "coolwarm" ? colormap : "coolwarm";
}

/** How a method's map of one target row is shown. */
export interface Display {
  /** Colormap positions in [0, 1] at model-input resolution. */
  positions: Float32Array;
  /** The colormap the positions index. */
  colormap: ColormapName;
  /** The colour bar drawn beside the map in grids. */
  colorBar: ColorBar;
  /** A caption line with the value range, or "". */
  note: string;
  /** The values at the two ends of the colour bar, where the display clips or is signed. */
  colorRange?: [number, number];
}

/**
 * The display of one row of a result: `map` is its final map and `raw` its raw map (the
 * attribution, for input-level methods) of the same row.
 */
export function displayOf(
  result: Pick<MethodResult, "method" | "signed">,
  map: Float32Array,
  raw: Float32Array,
  style: RenderStyle = {},
): Display {
  const { colormap, clip } = { ...DEFAULT_RENDER_STYLE, ...style };
  if (result.method.level === "layer") {
    return {
      positions: map,
      colormap,
      colorBar: { colormap, labels: ["min", "", "max"] },
      note: "",
    };
  }
  const signed = result.signed;
  const threshold = clipThreshold(map, clip);
  const clipped = clipToThreshold(map, threshold, signed);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of raw) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const clipNote = clip < 100 ? `, clip ${clip}%` : "";
  const note = `range ${formatValue(lo)}..${formatValue(hi)}${clipNote}`;
  if (signed) {
    // The display map is raw / max |raw|, so display value t is raw value t * max |raw|.
    const end = (threshold > 0 ? threshold : 1) * Math.max(-lo, hi);
    const diverging = signedColormap(colormap);
    return {
      positions: clipped.map((v) => (v + 1) / 2),
      colormap: diverging,
      colorBar: { colormap: diverging, labels: [formatValue(-end), "0", formatValue(end)] },
      note,
      colorRange: [-end, end],
    };
  }
  // The display map is (raw - lo) / (hi - lo).
  const end = lo + (threshold > 0 ? threshold : 1) * (hi - lo);
  return {
    positions: clipped,
    colormap,
    colorBar: { colormap, labels: [formatValue(lo), "", formatValue(end)] },
    note,
    colorRange: [lo, end],
  };
}

/**
 * The pictures of every target row of `explanation`: rows refer to `images` by image index, and
 * `label` names a class.
 */
export function renderExplanation(
  explanation: Pick<Explanation, "targets" | "scores" | "results">,
  images: readonly RenderImage[],
  label: (index: number) => string,
  style: RenderStyle = {},
): RenderedTarget[] {
  const s = { ...DEFAULT_RENDER_STYLE, ...style };
  const { targets, scores, results } = explanation;
  if (results.length === 0) return [];
  const [, height, width] = results[0]!.map.dims as [number, number, number];
  const area = height * width;
  return targets.classes.map((c, r) => {
    const image = images[targets.image[r]!]!;
    const caption = `${label(c)} ${formatScore(scores[r]!, targets.score)}`;
    const cells: GridCell[] = [{ image: image.rgb, caption: `${image.name}\n${caption}` }];
    const maps = results.map((result): RenderedMap => {
      const map = result.map.data.subarray(r * area, (r + 1) * area);
      const [, rawH, rawW] = result.raw[0]!.dims as [number, number, number];
      const raw = result.raw[0]!.data.subarray(r * rawH * rawW, (r + 1) * rawH * rawW);
      const shown = displayOf(result, map, raw, s);
      // Positions are final: "none" keeps the colours those of the colour bar.
      const overlay = overlayOnOriginal(
        image.rgb,
        { width, height, data: shown.positions },
        image.transform,
        { colormap: shown.colormap, alpha: s.alpha, normalize: "none" },
      );
      const text = [result.title, caption, shown.note].filter(Boolean).join("\n");
      cells.push({ image: overlay, caption: text, colorBar: shown.colorBar });
      return {
        overlay,
        colorBar: shown.colorBar,
        caption: text,
        ...(shown.colorRange ? { colorRange: shown.colorRange } : {}),
      };
    });
    return { row: r, maps, grid: makeGrid(cells, { columns: s.columns, cellSize: s.cellSize }) };
  });
}
