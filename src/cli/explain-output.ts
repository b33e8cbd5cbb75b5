// What `camscope explain` writes for each explained image and target: an overlay PNG per method
// over the original image, a grid comparing the methods, the final and raw maps as .npy, and the
// entries of the maps.json index that lists them. Paths in the index are relative to the output
// folder and use "/".
import { basename, join, posix } from "node:path";
import type { Explanation } from "../cam/explainer.ts";
import type { ScoreKind } from "../cam/targets.ts";
import { clipThreshold, clipToThreshold } from "../image/clip.ts";
import type { ColormapName } from "../image/colormap.ts";
import { makeGrid, type ColorBar, type GridCell } from "../image/grid.ts";
import { overlayHeatmap } from "../image/overlay.ts";
import { writePng } from "../io/png.ts";
import { mapToOriginal } from "../image/resize.ts";
import type { InputTransform, RgbImage } from "../image/types.ts";
import type { ModelContext } from "../models/context.ts";
import { slug } from "./explain-args.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { writeNpy } from "../io/npy.ts";

export const INDEX_FILE = "maps.json";
const GRID_COLUMNS = 5;
// Grid cells are scaled to fit this box so that captions stay legible and the grid stays a
// reasonable size whatever the photo's resolution.
const GRID_CELL = 256;

export interface MethodFiles {
  overlay: string;
  /** The final map at model-input resolution, [H, W] float32 in [0, 1]. */
  map: string;
  /** The raw map at each layer's resolution, [h, w], in the order of the index's `layers`. */
  raw: string[];
  /**
   * Pixel methods: the attribution values at the colormap's two ends in the overlay and grid
   * (the display clip, see the index's `clip`); values beyond them saturate.
   */
  colorRange?: [number, number];
}

export interface TargetEntry {
  class: number;
  label: string;
  /** The target score (logit or probability, see the index's `score`) on the image. */
  score: number;
  dir: string;
  grid: string;
  maps: Record<string, MethodFiles>;
}

export interface MethodCost {
  /** The method's share of its batch's time, per image. */
  milliseconds: number;
  /** Forward passes on perturbed inputs spent on this image's targets (0 for gradient methods). */
  forwardPasses: number;
}

export interface ImageEntry {
  image: string;
  width: number;
  height: number;
  /** In ranking order with --top-k. */
  targets: TargetEntry[];
  methods: Record<string, MethodCost>;
}

/** One method's maps as written: a CAM method's MethodMaps or a pixel attribution's. */
export interface WrittenMaps {
  method: { name: string; title: string };
  /** Raw maps, [N, h, w] each (CAM: one per layer; pixel attribution: the attribution). */
  raw: FloatTensor[];
  /** The final map [N, H, W]: in [0, 1], or in [-1, 1] when `signed`. */
  map: FloatTensor;
  /** Signed maps get a diverging colormap centred on 0. */
  signed?: boolean;
  /** A pixel attribution (raw = [the attribution]): its display is clipped at `OutputStyle.clip`. */
  pixel?: boolean;
  extraForwardPasses: number;
  milliseconds: number;
}

/** The diverging colormap of a signed map: --colormap if it is diverging, else coolwarm. */
function signedColormap(colormap: ColormapName): ColormapName {
  return colormap === "bwr" || colormap === "coolwarm" ? colormap : "coolwarm";
}

export interface FailedImage {
  image: string;
  error: string;
}

export interface MapsIndex {
  model: string;
  input: { name: string; dims: number[] };
  score: ScoreKind;
  augSmooth: boolean;
  eigenSmooth: boolean;
  seed: number;
  /** The display clip percentile of pixel methods' overlays and grids (100: none). */
  clip: number;
  layers: { name: string; op: string; dims: number[] }[];
  methods: { name: string; title: string; signed?: boolean }[];
  images: ImageEntry[];
  failed: FailedImage[];
}

/** A decoded image that went into an explanation, with its output folder name. */
export interface ExplainedImage {
  path: string;
  dir: string;
  rgb: RgbImage;
  transform: InputTransform;
}

export interface OutputStyle {
  colormap: ColormapName;
  alpha: number;
  /** Display clip percentile of pixel methods (clipThreshold); 100 scales by the largest value. */
  clip: number;
  /** Whether an image has several targets (--top-k), each written to its own sub-folder. */
  perTargetDirs: boolean;
}

/** How a method's map of one target row is shown. */
interface Display {
  /** Colormap positions in [0, 1] at model-input resolution. */
  positions: Float32Array;
  colormap: ColormapName;
  colorBar: ColorBar;
  /** A caption line with the value range, or "" . */
  note: string;
  colorRange?: [number, number];
}

/** A value for a label: three significant digits, exponent form when very large or small. */
export function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 0.01 && a < 10_000) return String(Number(v.toPrecision(3)));
  return v.toExponential(2);
}

/**
 * CAM maps are in [0, 1] already. A pixel attribution's display map (attribution / max |value|
 * if signed, else min-max) is clipped at the style's percentile, and its colour bar and note give
 * the attribution values (`raw`, the same row) at the colormap's ends and its whole range.
 */
function display(
  result: WrittenMaps,
  map: Float32Array,
  raw: Float32Array,
  style: OutputStyle,
): Display {
  if (!result.pixel) {
    return {
      positions: map,
      colormap: style.colormap,
      colorBar: { colormap: style.colormap, labels: ["min", "", "max"] },
      note: "",
    };
  }
  const signed = result.signed ?? false;
  const threshold = clipThreshold(map, style.clip);
  const clipped = clipToThreshold(map, threshold, signed);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of raw) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const clipNote = style.clip < 100 ? `, clip ${style.clip}%` : "";
  const note = `range ${formatValue(lo)}..${formatValue(hi)}${clipNote}`;
  if (signed) {
    // The display map is raw / max |raw|, so display value t is raw value t * max |raw|.
    const end = (threshold > 0 ? threshold : 1) * Math.max(-lo, hi);
    const colormap = signedColormap(style.colormap);
    return {
      positions: clipped.map((v) => (v + 1) / 2),
      colormap,
      colorBar: { colormap, labels: [formatValue(-end), "0", formatValue(end)] },
      note,
      colorRange: [-end, end],
    };
  }
  // The display map is (raw - lo) / (hi - lo).
  const end = lo + (threshold > 0 ? threshold : 1) * (hi - lo);
  return {
    positions: clipped,
    colormap: style.colormap,
    colorBar: { colormap: style.colormap, labels: [formatValue(lo), "", formatValue(end)] },
    note,
    colorRange: [lo, end],
  };
}

export function formatScore(score: number, kind: ScoreKind): string {
  return kind === "logit" ? `logit ${score.toFixed(2)}` : `p ${score.toFixed(3)}`;
}

/**
 * Writes every target row of `explanation` (rows refer to `images` by index) and returns the
 * images' index entries.
 */
export async function writeExplanation(
  out: string,
  ctx: ModelContext,
  images: readonly ExplainedImage[],
  explanation: Pick<Explanation, "targets" | "scores"> & { results: readonly WrittenMaps[] },
  style: OutputStyle,
): Promise<ImageEntry[]> {
  const { targets, scores, results } = explanation;
  const [, height, width] = results[0]!.map.dims as [number, number, number];
  const area = height * width;
  const entries: ImageEntry[] = images.map((image) => ({
    image: image.path,
    width: image.rgb.width,
    height: image.rgb.height,
    targets: [],
    methods: {},
  }));
  const rows = targets.classes.length;
  for (let r = 0; r < rows; r++) {
    const i = targets.image[r]!;
    const image = images[i]!;
    const entry = entries[i]!;
    const label = ctx.label(targets.classes[r]!);
    const score = formatScore(scores[r]!, targets.score);
    const dir = style.perTargetDirs
      ? posix.join(image.dir, `top${entry.targets.length + 1}-${slug(label)}`)
      : image.dir;
    const maps: Record<string, MethodFiles> = {};
    const cells: GridCell[] = [
      { image: image.rgb, caption: `${basename(image.path)}\n${label} ${score}` },
    ];
    for (const result of results) {
      const name = result.method.name;
      const files: MethodFiles = {
        overlay: posix.join(dir, `${name}.png`),
        map: posix.join(dir, `${name}.npy`),
        raw: result.raw.map((_, l) =>
          posix.join(dir, result.raw.length === 1 ? `${name}.raw.npy` : `${name}.raw.${l}.npy`),
        ),
      };
      maps[name] = files;
      const map = result.map.data.subarray(r * area, (r + 1) * area);
      const [, rawH, rawW] = result.raw[0]!.dims as [number, number, number];
      const rawRow = result.raw[0]!.data.subarray(r * rawH * rawW, (r + 1) * rawH * rawW);
      const shown = display(result, map, rawRow, style);
      if (shown.colorRange) files.colorRange = shown.colorRange;
      // Pixels the center crop cut away were never seen: NaN leaves them uncoloured.
      const original = mapToOriginal({ width, height, data: shown.positions }, image.transform, {
        outside: NaN,
      });
      // Positions are final: "none" keeps the colours those of the colour bar.
      const overlay = overlayHeatmap(image.rgb, original, {
        colormap: shown.colormap,
        alpha: style.alpha,
        normalize: "none",
      });
      const caption = [result.method.title, `${label} ${score}`, shown.note].filter(Boolean);
      cells.push({ image: overlay, caption: caption.join("\n"), colorBar: shown.colorBar });
      await Promise.all([
        writePng(join(out, files.overlay), overlay),
        writeNpy(join(out, files.map), { data: map, dims: [height, width] }),
        ...result.raw.map((raw, l) => {
          const [, h, w] = raw.dims as [number, number, number];
          const data = raw.data.subarray(r * h * w, (r + 1) * h * w);
          return writeNpy(join(out, files.raw[l]!), { data, dims: [h, w] });
        }),
      ]);
    }
    const grid = posix.join(dir, "grid.png");
    await writePng(
      join(out, grid),
      makeGrid(cells, { columns: GRID_COLUMNS, cellSize: GRID_CELL }),
    );
    entry.targets.push({ class: targets.classes[r]!, label, score: scores[r]!, dir, grid, maps });
  }
  for (const entry of entries) {
    for (const result of results) {
      entry.methods[result.method.name] = {
        milliseconds: result.milliseconds / images.length,
        forwardPasses: result.extraForwardPasses * entry.targets.length,
      };
    }
  }
  return entries;
}
