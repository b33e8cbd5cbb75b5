// Average Drop and Increase in Confidence (Chattopadhay et al. 2018, Grad-CAM++): how much of
// the class score survives when the image is shown through its map.
// - Y_i is the score of image i, O_i the score of the image multiplied by its map. Drop_i =
//   100 max(0, Y_i - O_i) / Y_i (lower is better); Increase_i = 1 when O_i > Y_i.
// - The map multiplies the model input, i.e. the preprocessed (normalised) tensor, by default.
//   `baseline` makes it fade each channel towards another value instead: explained =
//   x m + b (1 - m). Giving the tensor value of a black pixel (b_c = -mean_c / std_c) multiplies
//   the raw image instead, as papers that mask pixels before normalising do.
// - `keep` shows the image through a hard mask instead: 1 on the `keep` share of its pixels with
//   the highest map values, 0 elsewhere (ties at the cut: the lower pixel index first). Relevance-
//   CAM's evaluation keeps the top 50% (keep 0.5), where Grad-CAM++'s multiplies by the map.
// - Scores are whatever the ScoreFunction returns: softmax probabilities with modelProbability
//   (the usual choice). Drop needs positive scores: where Y_i <= 0 it is NaN.
// Original and explained inputs of all images go through the score function in chunks.
import { CamscopeError } from "../errors.ts";
import { checkNumber } from "../util/validate.ts";
import { saliencyOrder, type ScoreFunction } from "./deletion-insertion.ts";
import { inputLayout, scoreItems } from "./perturbed-scores.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** Options of {@link averageDrop}. */
export interface AverageDropOptions {
  /** Inputs built and scored per score-function call. Default 64. */
  chunk?: number;
  /** Value each channel fades to where the map is 0: one for all channels or one per channel. Default 0. */
  baseline?: number | readonly number[];
  /**
   * A hard mask instead of the map: 1 on this share of the pixels, those with the highest map
   * values, 0 elsewhere; in (0, 1]. Default: the map itself (a soft mask).
   */
  keep?: number;
}

/** Each map replaced by its hard mask of the top `keep` share of its pixels. */
function hardMasks(maps: Float32Array, n: number, area: number, keep: number): Float32Array {
  const out = new Float32Array(maps.length);
  const count = Math.round(keep * area);
  for (let i = 0; i < n; i++) {
    const order = saliencyOrder(maps.subarray(i * area, (i + 1) * area));
    for (let k = 0; k < count; k++) out[i * area + order[k]!] = 1;
  }
  return out;
}

/** What {@link averageDrop} returns. */
export interface AverageDropResult {
  /** Y: score of each image. */
  original: Float32Array;
  /** O: score of each image multiplied by its map. */
  explained: Float32Array;
  /** Per image, percent: 100 max(0, Y - O) / Y; NaN where Y <= 0. */
  drop: Float32Array;
  /** Per image: 1 if O > Y. */
  increase: Uint8Array;
  /** Mean of the finite drops (percent). */
  averageDrop: number;
  /** Percent of images with O > Y. */
  increaseInConfidence: number;
}

function baselineValues(baseline: AverageDropOptions["baseline"], channels: number): number[] {
  if (baseline === undefined) return new Array<number>(channels).fill(0);
  if (typeof baseline === "number") return new Array<number>(channels).fill(baseline);
  if (baseline.length !== channels || !baseline.every(Number.isFinite)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `baseline needs ${channels} finite values (one per channel), got [${baseline.join(", ")}]`,
    );
  }
  return [...baseline];
}

/**
 * Average Drop and Increase in Confidence (Chattopadhay et al. 2018) of `maps` ([N, H, W] in
 * [0, 1]) for the model inputs `images` ([N, C, H, W]): each image is scored as it is and
 * multiplied by its map (or by the map's hard mask of its top `keep` share of pixels).
 */
export async function averageDrop(
  images: FloatTensor,
  maps: Float32Array,
  score: ScoreFunction,
  options: AverageDropOptions = {},
): Promise<AverageDropResult> {
  const { n, channels, height, width } = inputLayout(images, maps);
  const base = baselineValues(options.baseline, channels);
  const area = height * width;
  if (options.keep !== undefined) {
    checkNumber(options.keep, "Average Drop keep", { min: 0, max: 1, minExclusive: true });
  }
  const masks = options.keep === undefined ? maps : hardMasks(maps, n, area, options.keep);
  const size = channels * area;
  // Item 2i is image i as it is, item 2i + 1 the image through its map.
  const scores = await scoreItems(
    2 * n,
    size,
    options.chunk ?? 64,
    score,
    (item, out) => {
      const i = item >> 1;
      const x = images.data.subarray(i * size, (i + 1) * size);
      if (item % 2 === 0) {
        out.set(x);
        return;
      }
      const m = masks.subarray(i * area, (i + 1) * area);
      for (let c = 0; c < channels; c++) {
        const b = base[c]!;
        for (let p = 0; p < area; p++) {
          out[c * area + p] = x[c * area + p]! * m[p]! + b * (1 - m[p]!);
        }
      }
    },
    (item) => item >> 1,
  );
  const original = new Float32Array(n);
  const explained = new Float32Array(n);
  const drop = new Float32Array(n);
  const increase = new Uint8Array(n);
  let dropSum = 0;
  let dropCount = 0;
  for (let i = 0; i < n; i++) {
    const y = scores[2 * i]!;
    const o = scores[2 * i + 1]!;
    original[i] = y;
    explained[i] = o;
    drop[i] = y > 0 ? (100 * Math.max(0, y - o)) / y : NaN;
    increase[i] = o > y ? 1 : 0;
    if (Number.isFinite(drop[i])) {
      dropSum += drop[i]!;
      dropCount++;
    }
  }
  return {
    original,
    explained,
    drop,
    increase,
    averageDrop: dropCount > 0 ? dropSum / dropCount : NaN,
    increaseInConfidence: n > 0 ? (100 * increase.reduce((a, b) => a + b, 0)) / n : NaN,
  };
}

/**
 * Win% of method A over method B (Relevance-CAM's comparison): the percentage of images whose
 * explained score O is strictly higher under A's map than under B's. Ties count for neither.
 */
export function winPercent(explainedA: Float32Array, explainedB: Float32Array): number {
  if (explainedA.length !== explainedB.length) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `win% compares the same images: got ${explainedA.length} and ${explainedB.length} scores`,
    );
  }
  if (explainedA.length === 0) return NaN;
  let wins = 0;
  for (let i = 0; i < explainedA.length; i++) if (explainedA[i]! > explainedB[i]!) wins++;
  return (100 * wins) / explainedA.length;
}
