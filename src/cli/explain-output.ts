// What `camscope explain` writes for each explained image and target: an overlay PNG per method
// over the original image, a grid comparing the methods (both rendered by src/explain/render.ts),
// the final and raw maps as .npy, and the entries of the maps.json index that lists them. Paths in
// the index are relative to the output folder and use "/".
import { join, posix } from "node:path";
import type { Explanation } from "../explain/explanation.ts";
import { renderExplanation, type RenderImage, type RenderStyle } from "../explain/render.ts";
import type { NoiseSmoothing } from "../explain/smoothing.ts";
import { writeNpy } from "../io/npy.ts";
import { writePng } from "../io/png.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { ScoreKind } from "../runtime/targets.ts";
import { slug } from "./explain-args.ts";

export const INDEX_FILE = "maps.json";

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
  /** Integrated Gradients: the completeness check of this target (unsmoothed runs). */
  completeness?: TargetCompleteness;
}

/** Integrated Gradients' completeness check of one target. */
export interface TargetCompleteness {
  /** f(x'), the target score of the baseline. */
  baselineScore: number;
  /** sum(attribution) - (f(x) - f(x')), in the score's units. */
  gap: number;
  /** gap / |f(x) - f(x')|. */
  relativeGap: number;
}

/** The line `explain` prints for a target's completeness check. */
export function completenessLine(c: TargetCompleteness): string {
  const signed = (v: number, text: string) => (v >= 0 ? `+${text}` : text);
  return `completeness gap ${signed(c.gap, c.gap.toPrecision(3))} (${signed(c.relativeGap, (100 * c.relativeGap).toFixed(2))}% of f(x) - f(x'))`;
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
  /** Noise smoothing, when asked for. */
  noiseSmooth?: NoiseSmoothing;
  seed: number;
  /** The display clip percentile of pixel methods' overlays and grids (100: none). */
  clip: number;
  layers: { name: string; op: string; dims: number[] }[];
  methods: { name: string; title: string; signed?: boolean }[];
  images: ImageEntry[];
  failed: FailedImage[];
}

/** A decoded image that went into an explanation, with its output folder name. */
export interface ExplainedImage extends RenderImage {
  path: string;
  dir: string;
}

export interface OutputStyle extends RenderStyle {
  /** Whether an image has several targets (--top-k), each written to its own sub-folder. */
  perTargetDirs: boolean;
}

/**
 * Writes every target row of `explanation` (rows refer to `images` by index) and returns the
 * images' index entries.
 */
export async function writeExplanation(
  out: string,
  ctx: ModelRuntime,
  images: readonly ExplainedImage[],
  explanation: Explanation,
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
  const rendered = renderExplanation(explanation, images, (c) => ctx.label(c), style);
  for (const { row: r, maps: pictures, grid: gridImage } of rendered) {
    const i = targets.image[r]!;
    const image = images[i]!;
    const entry = entries[i]!;
    const label = ctx.label(targets.classes[r]!);
    const dir = style.perTargetDirs
      ? posix.join(image.dir, `top${entry.targets.length + 1}-${slug(label)}`)
      : image.dir;
    const maps: Record<string, MethodFiles> = {};
    for (const [m, result] of results.entries()) {
      const name = result.method.name;
      const files: MethodFiles = {
        overlay: posix.join(dir, `${name}.png`),
        map: posix.join(dir, `${name}.npy`),
        raw: result.raw.map((_, l) =>
          posix.join(dir, result.raw.length === 1 ? `${name}.raw.npy` : `${name}.raw.${l}.npy`),
        ),
      };
      maps[name] = files;
      const picture = pictures[m]!;
      if (picture.colorRange) files.colorRange = picture.colorRange;
      if (result.completeness) {
        const c = result.completeness;
        files.completeness = {
          baselineScore: c.baselineScores[r]!,
          gap: c.gap[r]!,
          relativeGap: c.relativeGap[r]!,
        };
      }
      const map = result.map.data.subarray(r * area, (r + 1) * area);
      await Promise.all([
        writePng(join(out, files.overlay), picture.overlay),
        writeNpy(join(out, files.map), { data: map, dims: [height, width] }),
        ...result.raw.map((raw, l) => {
          const [, h, w] = raw.dims as [number, number, number];
          const data = raw.data.subarray(r * h * w, (r + 1) * h * w);
          return writeNpy(join(out, files.raw[l]!), { data, dims: [h, w] });
        }),
      ]);
    }
    const grid = posix.join(dir, "grid.png");
    await writePng(join(out, grid), gridImage);
    entry.targets.push({ class: targets.classes[r]!, label, score: scores[r]!, dir, grid, maps });
  }
  for (const entry of entries) {
    for (const result of results) {
      entry.methods[result.method.name] = {
        milliseconds: result.milliseconds / images.length,
        forwardPasses: result.passes.forward * entry.targets.length,
      };
    }
  }
  return entries;
}
