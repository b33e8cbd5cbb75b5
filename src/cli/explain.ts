// `camscope explain`: explanations of images, written as overlays, grids, .npy maps and a maps.json
// index: a thin layer over the explain service (src/explain/), which batches the images, explains
// each batch with every method and renders the pictures; this command reads the files and writes
// the results. An image that cannot be decoded or preprocessed is reported and skipped; the
// command still explains the others and then exits 1.
import { basename, join } from "node:path";
import { Option, type Command } from "commander";
import { CamscopeError } from "../errors.ts";
import { Explainer, type ExplainRequest, type ImageSource } from "../explain/explainer.ts";
import { formatScore } from "../explain/render.ts";
import { DEFAULT_CLIP_PERCENTILE } from "../image/clip.ts";
import { COLORMAP_NAMES, type ColormapName } from "../image/colormap.ts";
import { decodeImage } from "../io/images.ts";
import type { ScoreKind, TargetOptions } from "../runtime/targets.ts";
import { commaList, imageDirNames, parseTargetClasses } from "./explain-args.ts";
import {
  completenessLine,
  INDEX_FILE,
  writeExplanation,
  type FailedImage,
  type MapsIndex,
} from "./explain-output.ts";
import type { Io } from "./io.ts";
import { addMethodFlags, checkAgainstInput, methodFlagValues } from "./method-flags.ts";
import {
  addModelOptions,
  clipPercentile,
  nonNegativeInt,
  openFromOptions,
  positiveInt,
  unitInterval,
  type ModelOptions,
} from "./options.ts";
import { Progress } from "./progress.ts";
import { prepareOutputDir, writeOutputFile } from "../util/files.ts";
import { intOption, LIMITS, numberOption } from "./validate.ts";

export interface ExplainCliOptions extends ModelOptions {
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
  /** Noisy copies per target for noise smoothing (absent: none). */
  noiseSmooth?: number;
  noiseSmoothSigma: number;
  batchSize: number;
  seed: number;
  colormap: ColormapName;
  alpha: number;
  /** Display clip percentile of pixel methods (100: none). */
  clip: number;
  out: string;
  /** The methods' option flags (see method-flags.ts). */
  [flag: string]: unknown;
}

const PROGRESS_BAR = 24;

export function registerExplain(program: Command, io: Io): void {
  const command = addModelOptions(
    program
      .command("explain")
      .description("explain what the model looked at: overlays, grids and .npy maps per image")
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
      "--noise-smooth <n>",
      `average every method that admits it over n noisy copies of the input (n x the work; 1 to ${LIMITS.samples})`,
      intOption(1, LIMITS.samples),
    )
    .option(
      "--noise-smooth-sigma <f>",
      `noise smoothing: noise sigma as a fraction of the input's value range (0 to ${LIMITS.noise})`,
      numberOption(0, LIMITS.noise),
      0.15,
    )
    .option(
      "--batch-size <n>",
      "inputs per model run for perturbation and pixel-attribution methods",
      positiveInt,
      32,
    )
    .option(
      "--seed <n>",
      "seed of random draws (perturbation methods, SmoothGrad, RISE, noise smoothing)",
      nonNegativeInt,
      0,
    );
  addMethodFlags(command)
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
          for (const [name, files] of Object.entries(t.maps)) {
            if (files.completeness)
              io.out.write(`  ${name}: ${completenessLine(files.completeness)}\n`);
          }
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

/**
 * Explains `paths` into `options.out` and returns the index it wrote there. Option mistakes
 * (unknown method, option, layer or class) throw before any image is read.
 */
export async function explainImages(
  paths: readonly string[],
  options: ExplainCliOptions,
  io: Io,
): Promise<MapsIndex> {
  const { engine, ctx } = await openFromOptions(options);
  try {
    const classes = parseTargetClasses(options.target, ctx.card.labels, paths.length);
    if (options.topK !== undefined && classes !== "top1") {
      throw new CamscopeError("INVALID_ARGUMENT", "Give either --target or --top-k, not both");
    }
    const target: TargetOptions = {
      classes,
      score: options.score,
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
    };
    const request: ExplainRequest = {
      methods: commaList(options.method, "--method"),
      options: await methodFlagValues(options, ctx.input.dims),
      layers: commaList(options.layer, "--layer"),
      target,
      batchSize: options.batchSize,
      seed: options.seed,
      augSmooth: options.augSmooth,
      eigenSmooth: options.eigenSmooth,
      ...(options.noiseSmooth !== undefined
        ? { noiseSmooth: { samples: options.noiseSmooth, noise: options.noiseSmoothSigma } }
        : {}),
    };
    const explainer = new Explainer(ctx);
    // Checked now, so that a misspelt method, option or layer fails before the images are read.
    const plan = await explainer.plan(request);
    checkAgainstInput(plan.choices, ctx.input.dims);
    for (const { method, why } of plan.skipped) {
      io.err.write(`note: ${method} left out of "all": ${why}\n`);
    }
    // A folder that cannot be written fails now, not after every image was explained (and
    // after the options, so that a mistake in them leaves no folder behind).
    await prepareOutputDir(options.out);
    const dirs = imageDirNames(paths, [INDEX_FILE]);
    const index: MapsIndex = {
      model: ctx.model.source,
      input: ctx.input,
      score: options.score,
      augSmooth: options.augSmooth,
      eigenSmooth: options.eigenSmooth,
      ...(options.noiseSmooth !== undefined
        ? { noiseSmooth: { samples: options.noiseSmooth, noise: options.noiseSmoothSigma } }
        : {}),
      seed: options.seed,
      clip: options.clip,
      layers: [],
      methods: plan.choices.map(({ method }) => ({
        name: method.name,
        title: method.title,
        ...(method.level === "input" ? { signed: method.signed } : {}),
      })),
      images: [],
      failed: [],
    };
    const progress = new Progress(io.err, paths.length, "images", { bar: PROGRESS_BAR });
    const style = {
      colormap: options.colormap,
      alpha: options.alpha,
      clip: options.clip,
      perTargetDirs: (options.topK ?? 1) > 1,
    };
    const source: ImageSource<{ path: string; dir: string }> = {
      items: paths.map((path, i) => ({ path, dir: dirs[i]! })),
      load: (item) => decodeImage(item.path, undefined, ctx.card.preprocessing),
      name: (item) => item.path,
    };
    const batches = explainer.stream(source, request, {
      onProgress: (done) => progress.update(done),
    });
    for await (const batch of batches) {
      for (const failure of batch.failed) {
        const failed: FailedImage = { image: failure.item.path, error: failure.error };
        index.failed.push(failed);
        progress.log(`skipped: ${failed.error}`);
      }
      if (!batch.explanation) continue;
      index.layers = batch.explanation.layers.map(({ name, op, dims }) => ({ name, op, dims }));
      const images = batch.images.map((image) => ({
        path: image.item.path,
        dir: image.item.dir,
        rgb: image.rgb,
        transform: image.transform,
        name: basename(image.item.path),
      }));
      index.images.push(
        ...(await writeExplanation(options.out, ctx, images, batch.explanation, style)),
      );
    }
    progress.finish();
    await writeOutputFile(join(options.out, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
    return index;
  } finally {
    await engine.dispose();
  }
}
