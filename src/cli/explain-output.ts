// What `camscope explain` writes for each explained image and target: an overlay PNG per method
// over the original image, a grid comparing the methods, the final and raw maps as .npy, and the
// entries of the maps.json index that lists them. Paths in the index are relative to the output
// folder and use "/".
import { basename, join, posix } from "node:path";
import type { FloatTensor } from "../compiler/backward-session.ts";
import type { Explanation } from "../cam/explainer.ts";
import { writeNpy } from "../cam/npy.ts";
import type { ScoreKind } from "../cam/targets.ts";
import type { ColormapName } from "../image/colormap.ts";
import { makeGrid, type GridCell } from "../image/grid.ts";
import { overlayHeatmap } from "../image/overlay.ts";
import { writePng } from "../image/png.ts";
import { mapToOriginal } from "../image/resize.ts";
import type { InputTransform, RgbImage } from "../image/types.ts";
import type { ModelContext } from "../models/context.ts";
import { slug } from "./explain-args.ts";

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
  /** Whether an image has several targets (--top-k), each written to its own sub-folder. */
  perTargetDirs: boolean;
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
      // Pixels the center crop cut away were never seen: NaN leaves them uncoloured.
      const original = mapToOriginal({ width, height, data: map }, image.transform, {
        outside: NaN,
      });
      // The map is already normalised; "none" keeps its colours comparable with the .npy
      // ("signed" maps [-1, 1] onto the diverging colormap with 0 in the middle).
      const overlay = overlayHeatmap(image.rgb, original, {
        colormap: result.signed ? signedColormap(style.colormap) : style.colormap,
        alpha: style.alpha,
        normalize: result.signed ? "signed" : "none",
      });
      cells.push({ image: overlay, caption: `${result.method.title}\n${label} ${score}` });
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
