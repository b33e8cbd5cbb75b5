// `camscope predict`: the top-k classes of each image (ranked by the runtime's target resolution),
// with softmax probabilities.
import type { Command } from "commander";
import { CamscopeError } from "../errors.ts";
import { readImages } from "../io/images.ts";
import { preprocess } from "../image/preprocess.ts";
import { classProbabilities, resolveTargets } from "../runtime/targets.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import type { Io } from "./io.ts";
import { addModelOptions, openFromOptions, positiveInt, type ModelOptions } from "./options.ts";
import { Progress } from "./progress.ts";

export interface PredictOptions extends ModelOptions {
  top: number;
  json: boolean;
  batchSize: number;
}

export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}

export interface Prediction {
  image: string;
  top: ClassScore[];
}

// Fewer batches than this finish too fast for a progress line to help.
const PROGRESS_MIN_BATCHES = 4;

export function registerPredict(program: Command, io: Io): void {
  addModelOptions(
    program
      .command("predict")
      .description("print the top-k classes of each image with their probabilities")
      .argument("<images...>", "PNG, JPEG or WebP files"),
  )
    .option("-k, --top <k>", "classes to print per image", positiveInt, 5)
    .option("--json", "print JSON instead of a table", false)
    .option("--batch-size <n>", "images per model run", positiveInt, 32)
    .action(async (images: string[], options: PredictOptions) => {
      const failed: FailedPrediction[] = [];
      const predictions = await predict(images, options, io, failed);
      io.out.write(
        options.json ? `${JSON.stringify(predictions, null, 2)}\n` : formatPredictions(predictions),
      );
      for (const f of failed) io.err.write(`skipped: ${f.error}\n`);
      if (failed.length > 0) {
        throw new CamscopeError(
          "NON_FINITE",
          `${failed.length} of ${images.length} images could not be classified (above)`,
        );
      }
    });
}

/** An image that could not be classified, and why. */
export interface FailedPrediction {
  image: string;
  error: string;
}

/**
 * Classifies images in batches of `batchSize` on one session. Batches are decoded and
 * preprocessed one at a time (the next while the current one runs), so memory stays bounded by
 * the batch size however many images there are. An image whose logits hold NaN or Inf is left
 * out and listed in `failed` (which must be given to collect them; without it such an image
 * throws).
 */
export async function predict(
  images: readonly string[],
  options: PredictOptions,
  io: Io,
  failed?: FailedPrediction[],
): Promise<Prediction[]> {
  if (images.length === 0) return [];
  const { engine, ctx } = await openFromOptions(options);
  try {
    const batches: string[][] = [];
    for (let i = 0; i < images.length; i += options.batchSize) {
      batches.push(images.slice(i, i + options.batchSize));
    }
    const prepare = async (paths: readonly string[]): Promise<FloatTensor> => {
      const { tensor, dims } = preprocess(
        await readImages(paths, ctx.card.preprocessing),
        ctx.card.preprocessing,
      );
      return { data: tensor, dims };
    };
    const progress =
      batches.length >= PROGRESS_MIN_BATCHES
        ? new Progress(io.err, images.length, "images")
        : undefined;
    const predictions: Prediction[] = [];
    let next = prepare(batches[0]!);
    for (let b = 0; b < batches.length; b++) {
      const input = await next;
      if (b + 1 < batches.length) {
        next = prepare(batches[b + 1]!);
        // Handled when awaited; without this a decode error during a failing run is "unhandled".
        next.catch(() => undefined);
      }
      // Intake made the output the logits (a Softmax head is stripped), so the probabilities are
      // one softmax away, or one sigmoid for a one-unit binary classifier.
      const { logits } = await ctx.forward(input);
      const n = batches[b]!.length;
      const targets = resolveTargets(logits.data, n, { topK: options.top });
      const units = logits.data.length / n;
      batches[b]!.forEach((image, i) => {
        const row = logits.data.subarray(i * units, (i + 1) * units);
        const bad = row.find((v) => !Number.isFinite(v));
        if (bad !== undefined) {
          const error = `Cannot classify "${image}": the outputs of model "${ctx.model.source}" hold ${Number.isNaN(bad) ? "NaN" : "Inf"}`;
          if (!failed) throw new CamscopeError("NON_FINITE", error);
          failed.push({ image, error });
          return;
        }
        const probabilities = classProbabilities(row);
        const top = targets.classes
          .filter((_, r) => targets.image[r] === i)
          .map((index) => ({ index, label: ctx.label(index), probability: probabilities[index]! }));
        predictions.push({ image, top });
      });
      progress?.update(predictions.length);
    }
    progress?.finish();
    return predictions;
  } finally {
    await engine.dispose();
  }
}

export function formatPredictions(predictions: readonly Prediction[]): string {
  const lines: string[] = [];
  for (const { image, top } of predictions) {
    lines.push(image);
    const width = Math.max(...top.map((s) => s.label.length));
    for (const s of top) lines.push(`  ${s.label.padEnd(width)}  ${s.probability.toFixed(4)}`);
  }
  return `${lines.join("\n")}\n`;
}
