// Deletion and Insertion (Petsiuk et al. 2018, RISE): how fast the class probability falls when
// the most salient pixels are removed first, and how fast it rises when they are put back first.
// - Pixels are ordered by decreasing saliency (ties: the lower pixel index first); `steps` equal
//   steps take 0, 1/steps, ..., all of them (round(t * H * W / steps) pixels at step t).
// - Deletion starts from the image and sets the removed pixels to 0 in every channel of the model
//   input (the preprocessed tensor, as RISE does). Insertion starts from a blurred copy and puts
//   the original pixels back. The blur is RISE's: an 11 x 11 Gaussian of sigma 5 per channel with
//   zero padding (RISE convolves with padding 5), its kernel the sampled Gaussian normalised to sum
//   1 (RISE derives its kernel by filtering a delta with scipy; the difference is negligible).
// - The class probability is recorded at every step including the first; the AUC is the
//   trapezoid rule over [0, 1]. Deletion: lower is better; insertion: higher is better.
// Every step of every image goes through the score function in chunks, which batch-run the model.
import { CamscopeError } from "../errors.ts";
import { targetScores } from "../runtime/targets.ts";
import { Tensor } from "../engine/engine.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import { gaussianBlur } from "../image/blur.ts";
import { scoreItems, type ScoreFunction } from "./perturbed-scores.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

export type { ScoreFunction };

/** Options of {@link deletionInsertion}. */
export interface DeletionInsertionOptions {
  /** Steps from no pixel to all pixels. Default 32. */
  steps?: number;
  /** Inputs built and scored per score-function call. Default 64. */
  chunk?: number;
}

/** What {@link deletionInsertion} returns. */
export interface DeletionInsertionResult {
  /** Deletion AUC per image. */
  deletion: Float32Array;
  /** Insertion AUC per image. */
  insertion: Float32Array;
  /** Probability after step t (0..steps), [N, steps + 1]. */
  deletionCurves: Float32Array;
  /** Probability after step t of insertion, [N, steps + 1]. */
  insertionCurves: Float32Array;
}

/** Pixel indices by decreasing saliency, ties by increasing index. */
export function saliencyOrder(saliency: Float32Array): Int32Array {
  return Int32Array.from(saliency.keys()).sort((a, b) => saliency[b]! - saliency[a]! || a - b);
}

/** Trapezoid-rule area under a curve sampled at equal steps over [0, 1]. */
export function trapezoidAuc(curve: Float32Array): number {
  const steps = curve.length - 1;
  if (steps === 0) return curve[0] ?? 0;
  let sum = (curve[0]! + curve[steps]!) / 2;
  for (let t = 1; t < steps; t++) sum += curve[t]!;
  return sum / steps;
}

/**
 * Deletion and insertion curves and AUCs of `saliency` ([N, H, W], at the input's resolution) for
 * the images [N, C, H, W] (model inputs). Item order: image, then deletion before insertion, then
 * step, built chunk by chunk.
 */
export async function deletionInsertion(
  images: FloatTensor,
  saliency: Float32Array,
  score: ScoreFunction,
  options: DeletionInsertionOptions = {},
): Promise<DeletionInsertionResult> {
  const steps = options.steps ?? 32;
  const chunk = options.chunk ?? 64;
  if (!Number.isSafeInteger(steps) || steps < 1)
    throw new CamscopeError("INVALID_ARGUMENT", `steps must be a positive integer, got ${steps}`);
  if (!Number.isSafeInteger(chunk) || chunk < 1)
    throw new CamscopeError("INVALID_ARGUMENT", `chunk must be a positive integer, got ${chunk}`);
  const [n, channels, height, width] = images.dims as [number, number, number, number];
  const area = height * width;
  const size = channels * area;
  if (saliency.length !== n * area) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `saliency holds ${saliency.length} values, expected ${n} x ${height} x ${width}`,
    );
  }
  const points = steps + 1;
  // Items are image-major, so one image's order and blurred copy serve all its items.
  let current = -1;
  let order: Int32Array = new Int32Array(0);
  let blurred: Float32Array = new Float32Array(0);
  const write = (item: number, out: Float32Array): void => {
    const image = Math.floor(item / (2 * points));
    const insertion = Math.floor(item / points) % 2 === 1;
    const t = item % points;
    const x = images.data.subarray(image * size, (image + 1) * size);
    if (image !== current) {
      current = image;
      order = saliencyOrder(saliency.subarray(image * area, (image + 1) * area));
      blurred = gaussianBlur(x, [channels, height, width]);
    }
    out.set(insertion ? blurred : x);
    const count = Math.round((t * area) / steps);
    for (let j = 0; j < count; j++) {
      const p = order[j]!;
      for (let c = 0; c < channels; c++) out[c * area + p] = insertion ? x[c * area + p]! : 0;
    }
  };
  const curves = await scoreItems(n * 2 * points, size, chunk, score, write, (item) =>
    Math.floor(item / (2 * points)),
  );
  const deletionCurves = new Float32Array(n * points);
  const insertionCurves = new Float32Array(n * points);
  const deletion = new Float32Array(n);
  const insertion = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    deletionCurves.set(curves.subarray(2 * i * points, (2 * i + 1) * points), i * points);
    insertionCurves.set(curves.subarray((2 * i + 1) * points, (2 * i + 2) * points), i * points);
    deletion[i] = trapezoidAuc(deletionCurves.subarray(i * points, (i + 1) * points));
    insertion[i] = trapezoidAuc(insertionCurves.subarray(i * points, (i + 1) * points));
  }
  return { deletion, insertion, deletionCurves, insertionCurves };
}

/**
 * A score function giving, per input, the probability (softmax; sigmoid for a one-unit model) of
 * class `classes[row]` under the model, run in batches of `batchSize`.
 */
export function modelProbability(
  ctx: ModelRuntime,
  classes: readonly number[],
  batchSize = 32,
): ScoreFunction {
  return async (inputs, count, rows) => {
    const session = await ctx.session();
    const dims = [count, ...ctx.input.dims.slice(1)];
    const out = await session.runBatched(
      { [ctx.input.name]: new Tensor("float32", inputs, dims) },
      [ctx.output],
      batchSize,
    );
    const logits = out[ctx.output]!.data as Float32Array;
    const rowClasses = Array.from(rows, (r) => classes[r]!);
    return targetScores(logits, logits.length / count, rowClasses, "probability");
  };
}
