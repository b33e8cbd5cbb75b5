// ROAD, RemOve And Debias (Rong et al. 2022): like deletion, but removed pixels are filled by
// noisy linear imputation instead of a constant, so the model cannot tell which pixels were
// removed from the shape of the hole.
// - Imputation: every removed pixel equals the weighted mean of its in-image 8 neighbours
//   (weight 1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones; neighbours outside the
//   image are left out of the mean). Known neighbours are constants, removed ones unknowns: one
//   sparse linear system per image and channel, (D - W) z = b, with D the neighbour-weight sums.
//   D - W is symmetric and, as long as one pixel is kept, positive definite, so it is solved
//   exactly by a band Cholesky factorisation (unknowns in row-major order keep the band about one
//   image row of unknowns wide), shared by the channels.
//   Then Gaussian noise of standard deviation `noise` is added to the imputed pixels only.
// - MoRF removes the `p` percent most relevant pixels (saliencyOrder: decreasing, ties by lower
//   index), LeRF the `p` percent least relevant (the same order from its end); round(p/100 H W)
//   pixels. Lower MoRF and higher LeRF curves are better.
// - Imputation works on the model input (the preprocessed tensor), as ROAD does.
// - The AUC of a curve is the trapezoid area over the removed fraction (p / 100) divided by the
//   fraction range, i.e. the curve's mean height in score units (the single score for one
//   percentage).
// Every perturbed input of every image goes through the score function in chunks; each item's
// noise comes from deriveSeed(seed, image, curve, percentage), so chunking never changes results.
import { CamscopeError } from "../errors.ts";
import { createRng, deriveSeed, type Rng } from "../util/random.ts";
import { saliencyOrder, type ScoreFunction } from "./deletion-insertion.ts";
import { inputLayout, scoreItems } from "./perturbed-scores.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** Options of {@link road}. */
export interface RoadOptions {
  /** Percent of pixels removed at each point. Default 10, 20, ..., 90. */
  percentages?: number[];
  /** Standard deviation of the noise added to imputed values. Default 0.01 (ROAD's). */
  noise?: number;
  /** Seed of the noise. Default 0. */
  seed?: number;
  /** Inputs built and scored per score-function call. Default 64. */
  chunk?: number;
}

/** What {@link road} returns. */
export interface RoadResult {
  /** The percentages of pixels removed, in order. */
  percentages: number[];
  /** Score with the p% most relevant pixels imputed, [N, P]. */
  morf: Float32Array;
  /** Score with the p% least relevant pixels imputed, [N, P]. */
  lerf: Float32Array;
  /** Area under each image's MoRF curve (lower is better). */
  morfAuc: Float32Array;
  /** Area under each image's LeRF curve (higher is better). */
  lerfAuc: Float32Array;
}

/** [dx, dy, weight] of the 8 neighbours. */
const NEIGHBOURS: readonly (readonly [number, number, number])[] = [
  [-1, 0, 1 / 6],
  [1, 0, 1 / 6],
  [0, -1, 1 / 6],
  [0, 1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, -1, 1 / 12],
  [-1, 1, 1 / 12],
  [1, 1, 1 / 12],
];

/** The removed pixels' system: D (diagonal), W in CSR over unknowns, and b per channel. */
interface ImputationSystem {
  pixels: Int32Array;
  diagonal: Float64Array;
  start: Int32Array;
  column: Int32Array;
  weight: Float64Array;
  rhs: Float64Array[];
}

function buildSystem(
  image: Float32Array,
  channels: number,
  height: number,
  width: number,
  removed: Uint8Array,
): ImputationSystem {
  const area = height * width;
  const unknown = new Int32Array(area).fill(-1);
  let count = 0;
  for (let p = 0; p < area; p++) if (removed[p]) unknown[p] = count++;
  const pixels = new Int32Array(count);
  const diagonal = new Float64Array(count);
  const start = new Int32Array(count + 1);
  const column = new Int32Array(count * 8);
  const weight = new Float64Array(count * 8);
  const rhs = Array.from({ length: channels }, () => new Float64Array(count));
  let entries = 0;
  for (let p = 0; p < area; p++) {
    const u = unknown[p]!;
    if (u < 0) continue;
    pixels[u] = p;
    start[u] = entries;
    const x = p % width;
    const y = (p - x) / width;
    for (const [dx, dy, w] of NEIGHBOURS) {
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
      const q = ny * width + nx;
      diagonal[u] = diagonal[u]! + w;
      const v = unknown[q]!;
      if (v >= 0) {
        column[entries] = v;
        weight[entries++] = w;
      } else {
        for (let c = 0; c < channels; c++) {
          const b = rhs[c]!;
          b[u] = b[u]! + w * image[c * area + q]!;
        }
      }
    }
  }
  start[count] = entries;
  return { pixels, diagonal, start, column, weight, rhs };
}

/**
 * The Cholesky factor L (A = L L^T) of A = D - W, in band storage: unknowns are numbered in
 * row-major pixel order, so every neighbour pair lies within about one image row of unknowns
 * and L fills in only inside that band. Row i holds L[i][i - band .. i] at i * (band + 1).
 */
function bandCholesky(system: ImputationSystem): { factor: Float64Array; band: number } {
  const { diagonal, start, column, weight } = system;
  const n = diagonal.length;
  let band = 0;
  for (let i = 0; i < n; i++) {
    for (let k = start[i]!; k < start[i + 1]!; k++) band = Math.max(band, i - column[k]!);
  }
  const stride = band + 1;
  const factor = new Float64Array(n * stride);
  // Scatter A's lower triangle into the band, then factor it in place row by row.
  for (let i = 0; i < n; i++) {
    factor[i * stride + band] = diagonal[i]!;
    for (let k = start[i]!; k < start[i + 1]!; k++) {
      const j = column[k]!;
      if (j < i) factor[i * stride + band - (i - j)] = -weight[k]!;
    }
  }
  for (let i = 0; i < n; i++) {
    const rowI = i * stride + band - i; // factor[rowI + j] is L[i][j]
    const first = Math.max(0, i - band);
    for (let j = first; j <= i; j++) {
      const rowJ = j * stride + band - j;
      let sum = factor[rowI + j]!;
      for (let k = Math.max(first, j - band); k < j; k++)
        sum -= factor[rowI + k]! * factor[rowJ + k]!;
      if (j < i) {
        factor[rowI + j] = sum / factor[rowJ + j]!;
      } else {
        if (!(sum > 0))
          throw new CamscopeError(
            "NON_FINITE",
            "ROAD imputation: the system is not positive definite",
          );
        factor[rowI + i] = Math.sqrt(sum);
      }
    }
  }
  return { factor, band };
}

/** Solves L L^T z = b with the band factor. */
function bandSolve(factor: Float64Array, band: number, b: Float64Array): Float64Array {
  const n = b.length;
  const stride = band + 1;
  const z = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const row = i * stride + band - i;
    let sum = z[i]!;
    for (let k = Math.max(0, i - band); k < i; k++) sum -= factor[row + k]! * z[k]!;
    z[i] = sum / factor[row + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    z[i] = z[i]! / factor[i * stride + band]!;
    const value = z[i]!;
    const row = i * stride + band - i;
    for (let k = Math.max(0, i - band); k < i; k++) z[k] = z[k]! - factor[row + k]! * value;
  }
  return z;
}

/**
 * One image [C, H, W] with its `removed` pixels (1 = removed, [H, W]) replaced by noisy linear
 * imputation; `rng` draws the noise (channel by channel, pixels in row-major order). At least one
 * pixel must be kept.
 */
export function noisyLinearImputation(
  image: Float32Array,
  [channels, height, width]: readonly [number, number, number],
  removed: Uint8Array,
  noise: number,
  rng: Rng,
): Float32Array {
  const area = height * width;
  const out = Float32Array.from(image);
  const system = buildSystem(image, channels, height, width, removed);
  if (system.pixels.length === 0) return out;
  if (system.pixels.length === area) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      "ROAD cannot impute an image with every pixel removed",
    );
  }
  const { factor, band } = bandCholesky(system);
  for (let c = 0; c < channels; c++) {
    const z = bandSolve(factor, band, system.rhs[c]!);
    system.pixels.forEach((p, u) => {
      out[c * area + p] = z[u]! + (noise > 0 ? noise * rng.normal() : 0);
    });
  }
  return out;
}

function trapezoidOver(xs: readonly number[], ys: Float32Array): number {
  if (xs.length === 1) return ys[0]!;
  let area = 0;
  for (let j = 1; j < xs.length; j++) area += ((xs[j]! - xs[j - 1]!) * (ys[j]! + ys[j - 1]!)) / 2;
  return area / (xs[xs.length - 1]! - xs[0]!);
}

/**
 * ROAD (Rong et al. 2022) of `maps` ([N, H, W]) for the model inputs `images` ([N, C, H, W]): the
 * score with the most (MoRF) and least (LeRF) relevant pixels replaced by noisy linear
 * imputation, at each percentage.
 */
export async function road(
  images: FloatTensor,
  maps: Float32Array,
  score: ScoreFunction,
  options: RoadOptions = {},
): Promise<RoadResult> {
  const { n, channels, height, width } = inputLayout(images, maps);
  const percentages = options.percentages ?? [10, 20, 30, 40, 50, 60, 70, 80, 90];
  if (
    percentages.length === 0 ||
    !percentages.every((p, j) => p >= 0 && p < 100 && (j === 0 || p > percentages[j - 1]!))
  ) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `ROAD percentages must be increasing values in [0, 100), got [${percentages.join(", ")}]`,
    );
  }
  const noise = options.noise ?? 0.01;
  if (!(noise >= 0))
    throw new CamscopeError("INVALID_ARGUMENT", `noise must be >= 0, got ${noise}`);
  const seed = options.seed ?? 0;
  const area = height * width;
  const size = channels * area;
  const points = percentages.length;
  // Item order: image, then MoRF before LeRF, then percentage.
  let current = -1;
  let order: Int32Array = new Int32Array(0);
  const scores = await scoreItems(
    n * 2 * points,
    size,
    options.chunk ?? 64,
    score,
    (item, out) => {
      const i = Math.floor(item / (2 * points));
      const lerf = Math.floor(item / points) % 2 === 1;
      const j = item % points;
      if (i !== current) {
        current = i;
        order = saliencyOrder(maps.subarray(i * area, (i + 1) * area));
      }
      const count = Math.round((percentages[j]! / 100) * area);
      const removed = new Uint8Array(area);
      for (let k = 0; k < count; k++) removed[order[lerf ? area - 1 - k : k]!] = 1;
      const rng = createRng(deriveSeed(seed, i, lerf ? "lerf" : "morf", j));
      const x = images.data.subarray(i * size, (i + 1) * size);
      out.set(noisyLinearImputation(x, [channels, height, width], removed, noise, rng));
    },
    (item) => Math.floor(item / (2 * points)),
  );
  const morf = new Float32Array(n * points);
  const lerf = new Float32Array(n * points);
  const fractions = percentages.map((p) => p / 100);
  const morfAuc = new Float32Array(n);
  const lerfAuc = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    morf.set(scores.subarray(2 * i * points, (2 * i + 1) * points), i * points);
    lerf.set(scores.subarray((2 * i + 1) * points, (2 * i + 2) * points), i * points);
    morfAuc[i] = trapezoidOver(fractions, morf.subarray(i * points, (i + 1) * points));
    lerfAuc[i] = trapezoidOver(fractions, lerf.subarray(i * points, (i + 1) * points));
  }
  return { percentages: [...percentages], morf, lerf, morfAuc, lerfAuc };
}
