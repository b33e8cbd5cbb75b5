// Shared machinery of the perturbation methods (the Score-CAM family, Ablation-CAM, Cluster-CAM):
// masks made from feature maps, and perturbed inputs built chunk by chunk and scored in batches, so
// that memory stays bounded however many channels, samples or target rows there are.
import { resizeBilinear } from "../image/resize.ts";
import { normalizeInPlace } from "../tensor/maps.ts";

/** Floats of perturbed inputs held at once (64 MiB): ~340 inputs of 3 x 224 x 224. */
const CHUNK_FLOATS = 1 << 24;

/** minmax(up(map)) for `count` maps h x w stored back to back: upsampled first, then normalised. */
export function upsampledMasks(
  maps: Float32Array,
  count: number,
  [h, w]: readonly [number, number],
  [height, width]: readonly [number, number],
): Float32Array {
  const up = resizeBilinear(maps, count, h, w, height, width);
  return count > 0 ? normalizeInPlace(up, count) : up;
}

/** out = x * mask for one input x [C, H*W]; the mask [H*W] is shared by the colour channels. */
export function maskInput(x: Float32Array, mask: Float32Array, out: Float32Array): Float32Array {
  const area = mask.length;
  for (let c = 0; c < x.length / area; c++) {
    const o = c * area;
    for (let p = 0; p < area; p++) out[o + p] = x[o + p]! * mask[p]!;
  }
  return out;
}

/** Writes items [start, end) of target row `row` into `out`, one `itemSize` block per item. */
export type ItemBuilder = (row: number, start: number, end: number, out: Float32Array) => void;

/** Scores `perRow` items of every row (row order), e.g. CamRun.scoreInputs. */
export type ItemScorer = (items: Float32Array, perRow: number) => Promise<Float32Array>;

/**
 * Scores `perRow` items (perturbed inputs, channel masks) of each of `rows` target rows, building
 * them in chunks of at most `budget` floats (at least one item per row) and handing each chunk to
 * `score`, which batches it through the engine. Returns the scores [rows, perRow].
 */
export async function scoreInChunks(
  rows: number,
  perRow: number,
  itemSize: number,
  build: ItemBuilder,
  score: ItemScorer,
  budget = CHUNK_FLOATS,
): Promise<Float32Array> {
  const out = new Float32Array(rows * perRow);
  if (rows === 0 || perRow === 0) return out;
  const chunk = Math.max(1, Math.min(perRow, Math.floor(budget / (rows * itemSize))));
  const buffer = new Float32Array(rows * chunk * itemSize);
  for (let start = 0; start < perRow; start += chunk) {
    const count = Math.min(chunk, perRow - start);
    const items = buffer.subarray(0, rows * count * itemSize);
    for (let i = 0; i < rows; i++) {
      build(
        i,
        start,
        start + count,
        items.subarray(i * count * itemSize, (i + 1) * count * itemSize),
      );
    }
    const scores = await score(items, count);
    for (let i = 0; i < rows; i++) {
      out.set(scores.subarray(i * count, (i + 1) * count), i * perRow + start);
    }
  }
  return out;
}
