// The batching every perturbation metric shares: items (perturbed inputs) are built into one
// buffer chunk by chunk and each chunk is one ScoreFunction call, which batch-runs the model.
// Items are numbered so that each metric can rebuild any of them from its index alone.
import { CamscopeError } from "../errors.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/**
 * Scores `count` inputs stored back to back; `rows[j]` is the image (target row) input j belongs
 * to. For a model: the probability of that row's class (see modelProbability).
 */
export type ScoreFunction = (
  inputs: Float32Array,
  count: number,
  rows: Int32Array,
) => Promise<Float32Array>;

/** Scores `total` items of `size` floats; `write` fills item j, `rowOf` names its image. */
export async function scoreItems(
  total: number,
  size: number,
  chunk: number,
  score: ScoreFunction,
  write: (item: number, out: Float32Array) => void,
  rowOf: (item: number) => number,
): Promise<Float32Array> {
  if (!Number.isSafeInteger(chunk) || chunk < 1) {
    throw new CamscopeError("INVALID_ARGUMENT", `chunk must be a positive integer, got ${chunk}`);
  }
  const scores = new Float32Array(total);
  const buffer = new Float32Array(Math.min(chunk, total) * size);
  for (let start = 0; start < total; start += chunk) {
    const count = Math.min(chunk, total - start);
    const rows = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      write(start + j, buffer.subarray(j * size, (j + 1) * size));
      rows[j] = rowOf(start + j);
    }
    const out = await score(buffer.subarray(0, count * size), count, rows);
    if (out.length !== count) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `score function returned ${out.length} scores for ${count} inputs`,
      );
    }
    scores.set(out, start);
  }
  return scores;
}

/** [n, channels, height, width] of model inputs, checked against maps [n, height, width]. */
export function inputLayout(
  images: FloatTensor,
  maps: Float32Array,
): { n: number; channels: number; height: number; width: number } {
  const [n, channels, height, width] = images.dims as [number, number, number, number];
  if (images.dims.length !== 4 || images.data.length !== n * channels * height * width) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `images must be [N, C, H, W] with matching data, got dims [${images.dims.join(", ")}] and ${images.data.length} values`,
    );
  }
  if (maps.length !== n * height * width) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `maps hold ${maps.length} values, expected ${n} x ${height} x ${width}`,
    );
  }
  return { n, channels, height, width };
}
