// The smoothing wrappers of the explain service: each explains a target on variants of its input
// and merges the variants' maps, for any method that admits it (see the method registry).
// - Augmentation, as pytorch-grad-cam's aug_smooth: a horizontal flip x intensity grid of the
//   input (ttach's HorizontalFlip and Multiply(0.9, 1, 1.1) on the preprocessed tensor), every map
//   flipped back, and the maps averaged. Unlike pytorch-grad-cam, every variant explains the class
//   chosen on the unaugmented image (a flipped or darkened image may rank classes differently),
//   and the mean final map is normalised again so that it spans the range of every other final map.
// - Noise, as SmoothGrad (Smilkov et al. 2017) and Captum's NoiseTunnel over any method: the mean
//   map over `samples` copies x + N(0, sigma^2) of the input, sigma = noise * (max(x) - min(x)).
import type { TensorLayout } from "../image/preprocess.ts";
import { sizeOf, type FloatTensor } from "../tensor/tensor.ts";
import { createRng, deriveSeed } from "../util/random.ts";

/** One test-time augmentation variant of an input. */
export interface Augmentation {
  /** Whether the image is flipped left to right. */
  flip: boolean;
  /** The factor the input values are multiplied by. */
  multiplier: number;
}

const MULTIPLIERS = [0.9, 1, 1.1];

/** The six variants, the unaugmented one (no flip, x1) among them. */
export const AUGMENTATIONS: readonly Augmentation[] = [false, true].flatMap((flip) =>
  MULTIPLIERS.map((multiplier) => ({ flip, multiplier })),
);

/** A copy of a row-major tensor with `axis` reversed. */
export function flipAxis(t: FloatTensor, axis: number): FloatTensor {
  const size = t.dims[axis]!;
  const inner = sizeOf(t.dims.slice(axis + 1));
  const outer = t.data.length / (size * inner);
  const data = new Float32Array(t.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < size; i++) {
      const from = (o * size + i) * inner;
      data.set(t.data.subarray(from, from + inner), (o * size + size - 1 - i) * inner);
    }
  }
  return { data, dims: [...t.dims] };
}

/**
 * The variants of every row of `input`: row r, variant v at row r * V + v (V = AUGMENTATIONS
 * length), so each target's variants are adjacent.
 */
export function augmentRows(input: FloatTensor, layout: TensorLayout): FloatTensor {
  const widthAxis = layout === "NCHW" ? 3 : 2;
  const flipped = flipAxis(input, widthAxis);
  const rows = input.dims[0]!;
  const per = input.data.length / rows;
  const data = new Float32Array(rows * AUGMENTATIONS.length * per);
  for (let r = 0; r < rows; r++) {
    AUGMENTATIONS.forEach(({ flip, multiplier }, v) => {
      const source = (flip ? flipped : input).data.subarray(r * per, (r + 1) * per);
      const offset = (r * AUGMENTATIONS.length + v) * per;
      for (let j = 0; j < per; j++) data[offset + j] = source[j]! * multiplier;
    });
  }
  return { data, dims: [rows * AUGMENTATIONS.length, ...input.dims.slice(1)] };
}

/**
 * Maps of all variants, [R * V, h, w], back to one per row, [R, h, w]: flipped variants are
 * flipped back, then the V maps of a row are averaged.
 */
export function mergeVariants(maps: FloatTensor): FloatTensor {
  const [n, h, w] = maps.dims as [number, number, number];
  const variants = AUGMENTATIONS.length;
  const rows = n / variants;
  const area = h * w;
  const unflipped = flipAxis(maps, 2);
  const out = new Float32Array(rows * area);
  for (let r = 0; r < rows; r++) {
    AUGMENTATIONS.forEach(({ flip }, v) => {
      const src = (flip ? unflipped : maps).data;
      const offset = (r * variants + v) * area;
      for (let p = 0; p < area; p++) out[r * area + p]! += src[offset + p]! / variants;
    });
  }
  return { data: out, dims: [rows, h, w] };
}

/** Options of noise smoothing. */
export interface NoiseSmoothing {
  /** Noisy copies of each input. */
  samples: number;
  /** Noise standard deviation as a fraction of the input's value range. */
  noise: number;
}

/** "NOIS" in ASCII: the seed path of the noise, apart from other methods' draws. */
export const NOISE_STREAM = 0x4e4f4953;

/**
 * `samples` noisy copies of every row of `input`: row r, copy s at row r * samples + s, drawing
 * its values in order from createRng(deriveSeed(seed, NOISE_STREAM, r, s)).
 */
export function noisyRows(
  input: FloatTensor,
  { samples, noise }: NoiseSmoothing,
  seed: number,
): FloatTensor {
  const rows = input.dims[0]!;
  const per = input.data.length / rows;
  const data = new Float32Array(rows * samples * per);
  for (let r = 0; r < rows; r++) {
    const x = input.data.subarray(r * per, (r + 1) * per);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const sigma = noise * (hi - lo);
    for (let s = 0; s < samples; s++) {
      const rng = createRng(deriveSeed(seed, NOISE_STREAM, r, s));
      const offset = (r * samples + s) * per;
      for (let j = 0; j < per; j++) data[offset + j] = x[j]! + sigma * rng.normal();
    }
  }
  return { data, dims: [rows * samples, ...input.dims.slice(1)] };
}

/** Maps of `copies` adjacent variants per row, [R * copies, ...], back to their mean, [R, ...]. */
export function meanOfCopies(maps: FloatTensor, copies: number): FloatTensor {
  const rows = maps.dims[0]! / copies;
  const per = maps.data.length / maps.dims[0]!;
  const out = new Float32Array(rows * per);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < copies; s++) {
      const offset = (r * copies + s) * per;
      for (let j = 0; j < per; j++) out[r * per + j]! += maps.data[offset + j]! / copies;
    }
  }
  return { data: out, dims: [rows, ...maps.dims.slice(1)] };
}
