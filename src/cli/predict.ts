// `camscope predict`: the top-k classes of each image, with softmax probabilities.
import type { Command } from "commander";
import { Tensor, type OrtTensor } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { readImages } from "../image/decode.ts";
import { preprocess } from "../image/preprocess.ts";
import type { ModelContext } from "../models/context.ts";
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

/**
 * Classifies images in batches of `batchSize` on one session. Batches are decoded and
 * preprocessed one at a time (the next while the current one runs), so memory stays bounded by
 * the batch size however many images there are.
 */
export interface FailedPrediction {
  image: string;
  error: string;
}

/**
 * Classifies `images`; an image whose logits hold NaN or Inf is left out and listed in `failed`
 * (which must be given to collect them; without it such an image throws).
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
    const session = await ctx.session();
    const batches: string[][] = [];
    for (let i = 0; i < images.length; i += options.batchSize) {
      batches.push(images.slice(i, i + options.batchSize));
    }
    const prepare = async (paths: readonly string[]): Promise<OrtTensor> => {
      const { tensor, dims } = preprocess(
        await readImages(paths, ctx.card.preprocessing),
        ctx.card.preprocessing,
      );
      return new Tensor("float32", tensor, dims);
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
      const results = await session.run({ [ctx.input.name]: input }, [ctx.output]);
      // Intake made the output the logits (a Softmax head is stripped), so the probabilities are
      // one softmax away, or one sigmoid for a one-unit binary classifier.
      const scores = results[ctx.output]!;
      const units = scores.dims[1]!;
      const data = scores.data as Float32Array;
      batches[b]!.forEach((image, i) => {
        const row = data.subarray(i * units, (i + 1) * units);
        const bad = row.find((v) => !Number.isFinite(v));
        if (bad !== undefined) {
          const error = `Cannot classify "${image}": the outputs of model "${ctx.model.source}" hold ${Number.isNaN(bad) ? "NaN" : "Inf"}`;
          if (!failed) throw new CamscopeError("NON_FINITE", error);
          failed.push({ image, error });
          return;
        }
        predictions.push({ image, top: topK(probabilities(row), options.top, ctx) });
      });
      progress?.update(predictions.length);
    }
    progress?.finish();
    return predictions;
  } finally {
    await engine.dispose();
  }
}

/** Class probabilities of one row of logits: [1 - p, p] for a one-unit (binary) model. */
function probabilities(row: Float32Array): Float64Array {
  if (row.length !== 1) return softmax(row);
  const p = 1 / (1 + Math.exp(-row[0]!));
  return Float64Array.of(1 - p, p);
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

function topK(probabilities: ArrayLike<number>, k: number, ctx: ModelContext): ClassScore[] {
  const indices = Array.from({ length: probabilities.length }, (_, i) => i);
  // Ties keep class order, so output is deterministic.
  indices.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return indices
    .slice(0, k)
    .map((index) => ({ index, label: ctx.label(index), probability: probabilities[index]! }));
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
