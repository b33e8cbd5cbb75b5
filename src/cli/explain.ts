// `camscope explain`: CAM explanations of images, written as overlays, grids, .npy maps and a
// maps.json index. Images go through the model in chunks: each chunk is preprocessed into one
// tensor and explained by every method in one explain call, while the next chunk decodes. An
// image that cannot be decoded or preprocessed is reported and skipped; the command still
// explains the others and then exits 1.
import { join } from "node:path";
import { Option, type Command } from "commander";
import { AttributionExplainer } from "../attribution/explainer.ts";
import { IG_DEFAULT_STEPS } from "../attribution/methods/integrated-gradients.ts";
import { OCCLUSION_DEFAULTS } from "../attribution/methods/occlusion.ts";
import { RISE_DEFAULTS } from "../attribution/methods/rise.ts";
import { SMOOTHGRAD_DEFAULTS } from "../attribution/methods/smoothgrad.ts";
import { applicableMethods } from "../cam/methods/index.ts";
import { CamExplainer, type ExplainOptions } from "../cam/explainer.ts";
import { explainSmoothed } from "../cam/smoothing.ts";
import type { ScoreKind, TargetOptions } from "../cam/targets.ts";
import { COMPOSITES } from "../compiler/lrp/composites.ts";
import { CamscopeError } from "../errors.ts";
import { RELEVANCE_STARTS } from "../lrp/relevance.ts";
import { DEFAULT_CLIP_PERCENTILE } from "../image/clip.ts";
import { COLORMAP_NAMES, type ColormapName } from "../image/colormap.ts";
import { decodeImage } from "../image/decode.ts";
import { preprocess, type PreprocessResult, type PreprocessSpec } from "../image/preprocess.ts";
import type { RgbImage } from "../image/types.ts";
import { commaList, imageDirNames, parseTargetClasses } from "./explain-args.ts";
import { splitMethods, type PixelCliOptions } from "./explain-methods.ts";
import {
  formatScore,
  INDEX_FILE,
  writeExplanation,
  type ExplainedImage,
  type FailedImage,
  type MapsIndex,
  type WrittenMaps,
} from "./explain-output.ts";
import type { Io } from "./io.ts";
import {
  addModelOptions,
  clipPercentile,
  finiteNumber,
  nonNegativeInt,
  openFromOptions,
  positiveInt,
  unitInterval,
  type ModelOptions,
} from "./options.ts";
import { Progress } from "./progress.ts";
import { NonFiniteError } from "../util/finite.ts";
import { prepareOutputDir, writeOutputFile } from "../util/files.ts";
import { intOption, LIMITS, numberOption } from "./validate.ts";

export interface ExplainCliOptions extends ModelOptions, PixelCliOptions {
  /** Comma-separated method names, "all" (CAM) or "pixel" (pixel attribution). */
  method: string;
  /** Comma-separated layer names, or "auto". */
  layer: string;
  /** "top1", a class, or one class per image, comma-separated. */
  target: string;
  topK?: number;
  score: ScoreKind;
  augSmooth: boolean;
  eigenSmooth: boolean;
  batchSize: number;
  seed: number;
  colormap: ColormapName;
  alpha: number;
  /** Display clip percentile of pixel methods (100: none). */
  clip: number;
  out: string;
}

// Chunks are sized to take about CHUNK_MS, so that progress moves even when perturbation methods
// spend seconds per image, up to MAX_CHUNK images, which bounds the images and maps held at once.
// Small chunks cost little: the engine batches a method's perturbed inputs across and within
// images anyway, and splits big batches into session runs of its own chunk size.
const FIRST_CHUNK = 4;
const MAX_CHUNK = 32;
const CHUNK_MS = 10_000;
const PROGRESS_BAR = 24;

export function registerExplain(program: Command, io: Io): void {
  addModelOptions(
    program
      .command("explain")
      .description("explain what the model looked at: CAM overlays, grids and .npy maps per image")
      .argument("<images...>", "PNG, JPEG or WebP files"),
  )
    .option(
      "--method <names>",
      'methods, comma-separated: CAM methods ("all": every one) and pixel-attribution methods ("pixel": every one)',
      "gradcam",
    )
    .option(
      "-l, --layer <names>",
      'layers to explain, comma-separated (maps of several are fused), "auto" for the default',
      "auto",
    )
    .option(
      "-t, --target <classes>",
      'class to explain: "top1", one class name or index for all images, or one per image, comma-separated',
      "top1",
    )
    .option("-k, --top-k <k>", "explain each image's k highest-scoring classes", positiveInt)
    .addOption(
      new Option("--score <kind>", "score to explain")
        .choices(["logit", "probability"])
        .default("logit"),
    )
    .option("--aug-smooth", "average over flips and intensity changes (6x the work)", false)
    .option("--eigen-smooth", "first principal component instead of the channel sum", false)
    .option(
      "--batch-size <n>",
      "inputs per model run for perturbation and pixel-attribution methods",
      positiveInt,
      32,
    )
    .option(
      "--seed <n>",
      "seed of random draws (perturbation methods, SmoothGrad, RISE)",
      nonNegativeInt,
      0,
    )
    .option(
      "--steps <n>",
      `ig: integration steps (1 to ${LIMITS.steps})`,
      intOption(1, LIMITS.steps),
      IG_DEFAULT_STEPS,
    )
    .option(
      "--baseline <kind>",
      "ig: baseline: black (the preprocessed black image), blur, uniform (seeded noise), or a float32 .npy tensor [C,H,W] in model-input space",
      "black",
    )
    .option(
      "--samples <n>",
      `smoothgrad, smoothgrad-sq, vargrad: noisy samples per image (1 to ${LIMITS.samples})`,
      intOption(1, LIMITS.samples),
      SMOOTHGRAD_DEFAULTS.samples,
    )
    .option(
      "--noise <f>",
      `smoothgrad, smoothgrad-sq, vargrad: noise sigma as a fraction of the input's value range (0 to ${LIMITS.noise})`,
      numberOption(0, LIMITS.noise),
      SMOOTHGRAD_DEFAULTS.noise,
    )
    .option(
      "--window <n>",
      "occlusion: square window side in pixels",
      positiveInt,
      OCCLUSION_DEFAULTS.window,
    )
    .option(
      "--stride <n>",
      "occlusion: step between windows in pixels, at most the window",
      positiveInt,
      OCCLUSION_DEFAULTS.stride,
    )
    .option(
      "--occlusion-value <v>",
      "occlusion: value of occluded pixels in model-input space",
      finiteNumber,
      OCCLUSION_DEFAULTS.value,
    )
    .option(
      "--masks <n>",
      `rise: number of random masks (1 to ${LIMITS.masks})`,
      intOption(1, LIMITS.masks),
      RISE_DEFAULTS.masks,
    )
    .option(
      "--cells <n>",
      "rise: grid cells per side of a mask, at most the input's side",
      positiveInt,
      RISE_DEFAULTS.cells,
    )
    .option(
      "--keep-probability <p>",
      "rise: probability that a mask cell is kept, above 0 and at most 1",
      numberOption(0, 1, { minExclusive: true }),
      RISE_DEFAULTS.probability,
    )
    .option(
      "--composite <name>",
      `lrp: composite (${Object.keys(COMPOSITES).join(", ")}) or one rule for every layer (epsilon[:eps], zplus, alphabeta[:a,b], gamma[:g], flat, wsquare)`,
      "epsilon-plus",
    )
    .addOption(
      new Option("--lrp-start <kind>", "lrp: starting relevance at the logits")
        .choices([...RELEVANCE_STARTS])
        .default("one-hot"),
    )
    .addOption(
      new Option("--colormap <name>", "heatmap colormap").choices(COLORMAP_NAMES).default("jet"),
    )
    .option("--alpha <a>", "heatmap opacity, 0 to 1", unitInterval, 0.5)
    .option(
      "--clip <percentile>",
      "pixel methods: overlays and grids are scaled by this percentile of |map| over the pixels, larger values saturate (100: no clipping; the .npy maps are never clipped)",
      clipPercentile,
      DEFAULT_CLIP_PERCENTILE,
    )
    .requiredOption("-o, --out <dir>", "output folder")
    .action(async (images: string[], options: ExplainCliOptions) => {
      const index = await explainImages(images, options, io);
      for (const image of index.images) {
        for (const t of image.targets) {
          io.out.write(
            `${image.image}: ${t.label} (${formatScore(t.score, index.score)}) -> ${join(options.out, t.dir)}\n`,
          );
        }
      }
      io.out.write(`${join(options.out, INDEX_FILE)}\n`);
      if (index.failed.length > 0) {
        throw new CamscopeError(
          "IMAGE_DECODE",
          `${index.failed.length} of ${images.length} images could not be explained (see "failed" in ${join(options.out, INDEX_FILE)})`,
        );
      }
    });
}

interface Decoded {
  /** Position among the paths given. */
  index: number;
  path: string;
  dir: string;
  rgb: RgbImage;
}

type Loaded = Decoded | { path: string; error: string };

/**
 * Explains `paths` into `options.out` and returns the index it wrote there. Option mistakes
 * (unknown method, layer or class) throw before any image is read.
 */
export async function explainImages(
  paths: readonly string[],
  options: ExplainCliOptions,
  io: Io,
): Promise<MapsIndex> {
  const { engine, ctx } = await openFromOptions(options);
  try {
    const split = await splitMethods(
      ctx.model,
      commaList(options.method, "--method"),
      options,
      ctx.input.dims,
    );
    const { pixel } = split;
    const layerNames = commaList(options.layer, "--layer");
    // Resolved now so that a misspelt layer fails before the images are read.
    const layers = await Promise.all(layerNames.map((name) => ctx.layer(name)));
    const applicable = applicableMethods(split.cam, layers);
    for (const { method, why } of applicable.skipped) {
      if (split.named.has(method.name)) throw new CamscopeError("INVALID_ARGUMENT", why);
      io.err.write(`note: ${method.name} left out of "all": ${why}\n`);
    }
    const methods = applicable.methods;
    const classes = parseTargetClasses(options.target, ctx.card.labels, paths.length);
    if (options.topK !== undefined && classes !== "top1") {
      throw new CamscopeError("INVALID_ARGUMENT", "Give either --target or --top-k, not both");
    }
    // A folder that cannot be written fails now, not after every image was explained (and
    // after the options, so that a mistake in them leaves no folder behind).
    await prepareOutputDir(options.out);
    const explainer = new CamExplainer(ctx);
    const attributor = new AttributionExplainer(ctx);
    // CAM methods and pixel attributions resolve the same targets from the same logits.
    const explain = async (input: PreprocessResult, indices: readonly number[]) => {
      const target: TargetOptions = {
        classes: Array.isArray(classes) ? indices.map((i) => classes[i]!) : classes,
        score: options.score,
        ...(options.topK !== undefined ? { topK: options.topK } : {}),
      };
      const explainOptions: ExplainOptions = {
        methods,
        layers: layerNames,
        target,
        batchSize: options.batchSize,
        seed: options.seed,
        eigenSmooth: options.eigenSmooth,
      };
      const tensor = { data: input.tensor, dims: input.dims };
      const cams =
        methods.length === 0
          ? undefined
          : await (options.augSmooth
              ? explainSmoothed(explainer, tensor, explainOptions)
              : explainer.explain(tensor, explainOptions));
      const pixels =
        pixel.length === 0
          ? undefined
          : await attributor.explain(tensor, {
              methods: pixel,
              layers: layerNames,
              target,
              batchSize: options.batchSize,
              seed: options.seed,
            });
      const results: WrittenMaps[] = [
        ...(cams?.results ?? []),
        ...(pixels?.results ?? []).map((r) => ({
          method: r.method,
          raw: [r.attribution],
          map: r.map,
          signed: r.signed,
          pixel: true,
          extraForwardPasses: r.forwardPasses,
          milliseconds: r.milliseconds,
        })),
      ];
      const { targets, scores } = cams ?? pixels!;
      return { targets, scores, layers: cams?.layers ?? [], results };
    };

    const dirs = imageDirNames(paths, [INDEX_FILE]);
    const load = (start: number, count: number): Promise<Loaded[]> =>
      Promise.all(
        paths.slice(start, start + count).map((path, j) =>
          decodeImage(path, undefined, ctx.card.preprocessing).then(
            (rgb): Loaded => ({ index: start + j, path, dir: dirs[start + j]!, rgb }),
            (error: Error): Loaded => ({ path, error: error.message }),
          ),
        ),
      );

    const index: MapsIndex = {
      model: ctx.model.source,
      input: ctx.input,
      score: options.score,
      augSmooth: options.augSmooth,
      eigenSmooth: options.eigenSmooth,
      seed: options.seed,
      clip: options.clip,
      layers: [],
      methods: [
        ...methods.map((m) => ({ name: m.name, title: m.title })),
        ...pixel.map((m) => ({ name: m.name, title: m.title, signed: m.signed })),
      ],
      images: [],
      failed: [],
    };
    const progress = new Progress(io.err, paths.length, "images", { bar: PROGRESS_BAR });
    const fail = (failure: FailedImage): void => {
      index.failed.push(failure);
      progress.log(`skipped: ${failure.error}`);
    };
    const style = {
      colormap: options.colormap,
      alpha: options.alpha,
      clip: options.clip,
      perTargetDirs: (options.topK ?? 1) > 1,
    };
    let size = Math.min(FIRST_CHUNK, paths.length);
    let next = load(0, size);
    let start = 0;
    while (start < paths.length) {
      const loaded = await next;
      const began = performance.now();
      const end = start + loaded.length;
      // The next chunk decodes while this one is explained.
      if (end < paths.length) next = load(end, size);
      const decoded: Decoded[] = [];
      for (const item of loaded) {
        if ("error" in item) fail({ image: item.path, error: item.error });
        else decoded.push(item);
      }
      let chunk = preprocessChunk(decoded, ctx.card.preprocessing, fail);
      while (chunk.images.length > 0) {
        const { input, images } = chunk;
        let explanation;
        try {
          explanation = await explain(
            input,
            images.map((image) => image.index),
          );
        } catch (error) {
          // NaN or Inf for some images: those are reported, the others explained again.
          if (!(error instanceof NonFiniteError)) throw error;
          const bad = new Set(error.images);
          for (const i of bad) {
            const path = images[i]!.path;
            fail({
              image: path,
              error: `Cannot explain "${path}": ${error.what} hold ${error.found}`,
            });
          }
          chunk = preprocessChunk(
            images.filter((_, i) => !bad.has(i)),
            ctx.card.preprocessing,
            fail,
          );
          continue;
        }
        index.layers = explanation.layers.map(({ name, op, dims }) => ({ name, op, dims }));
        index.images.push(
          ...(await writeExplanation(options.out, ctx, images, explanation, style)),
        );
        break;
      }
      progress.update(end);
      const perImage = (performance.now() - began) / loaded.length;
      size = Math.max(1, Math.min(MAX_CHUNK, Math.round(CHUNK_MS / perImage)));
      start = end;
    }
    progress.finish();
    await writeOutputFile(join(options.out, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
    return index;
  } finally {
    await engine.dispose();
  }
}

/**
 * Preprocesses a chunk in one batch. Only an image preprocessing rejects (a wrong size for
 * resize "none") makes the batch fail; then each image is tried alone to find the culprits, which
 * are reported through `fail`, and the rest are preprocessed together.
 */
function preprocessChunk(
  images: readonly Decoded[],
  spec: PreprocessSpec,
  fail: (failure: FailedImage) => void,
): { input: PreprocessResult; images: (Decoded & ExplainedImage)[] } {
  const run = (batch: readonly Decoded[]) => {
    const input = preprocess(
      batch.map((image) => image.rgb),
      spec,
    );
    return {
      input,
      images: batch.map((image, i) => ({ ...image, transform: input.transforms[i]! })),
    };
  };
  try {
    return run(images);
  } catch {
    const ok = images.filter((image) => {
      try {
        preprocess([image.rgb], spec);
        return true;
      } catch (error) {
        fail({
          image: image.path,
          error: `Cannot preprocess image "${image.path}": ${(error as Error).message}`,
        });
        return false;
      }
    });
    return run(ok);
  }
}
