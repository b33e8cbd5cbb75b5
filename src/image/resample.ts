// Resizing 8-bit RGB images the way Pillow's Image.resize(size, Image.BILINEAR) does, which is
// what torchvision's Resize runs on PIL images. ImageNet-trained models saw inputs made this way,
// so reproducing it bit for bit keeps camscope's inputs identical to a PyTorch reference pipeline.
//
// Pillow's algorithm (libImaging/Resample.c), reproduced here:
// - a separable triangle ("bilinear") filter; when downscaling by s > 1 the filter is stretched to
//   support s input pixels on each side, which is the antialiasing (torchvision's tensor
//   Resize(antialias=True) computes the same weights in float);
// - output pixel i is centred at input coordinate (i + 0.5) * s, taps cover
//   [trunc(centre - support + 0.5), trunc(centre + support + 0.5)) clipped to the image, and the
//   weights are renormalised to sum to 1 (so edges need no padding);
// - weights are converted to 22-bit fixed point and each pass rounds and clamps to 8 bits;
// - the horizontal pass runs first, then the vertical pass on its 8-bit result.
import { CamscopeError } from "../errors.ts";
import type { RgbImage } from "./types.ts";
import { assertRgbImage } from "./types.ts";

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Taps of a 1-D resampling pass: output i reads `count[i]` inputs from `first[i]` on. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `stride` slots per output pixel. */
  weights: Int32Array;
  stride: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter. */
export function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the bilinear filter's support is 1, widened when downscaling
  const invScale = 1 / filterScale; // Pillow multiplies by the reciprocal; dividing rounds differently
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const raw = new Float64Array(stride);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const w = Math.max(0, 1 - Math.abs((x - centre + 0.5) * invScale));
      raw[x - lo] = w;
      total += w;
    }
    first[i] = lo;
    count[i] = hi - lo;
    for (let k = 0; k < hi - lo; k++) {
      const w = total !== 0 ? raw[k]! / total : raw[k]!;
      // C's (int)(0.5 + w * ONE); bilinear weights are never negative.
      weights[i * stride + k] = Math.trunc(0.5 + w * ONE);
    }
  }
  return { first, count, weights, stride };
}

/**
 * Pillow's clip8: drop the fixed-point fraction and clamp to a byte. Accumulators stay below
 * 2^31 (255 * 2^22 plus rounding), so the 32-bit shift is exact.
 */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes an RGB image to width x height with Pillow's BILINEAR filter (antialiased when
 * shrinking). The output is byte-identical to `PIL.Image.resize((width, height), BILINEAR)`
 * on an RGB image.
 */
export function resizeImage(image: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(image);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot resize to ${width}x${height}: size must be positive integers`,
    );
  }
  let current = image;
  if (width !== image.width) current = resizeHorizontal(current, width);
  if (height !== image.height) current = resizeVertical(current, height);
  return current === image ? { width, height, data: image.data.slice() } : current;
}

function resizeHorizontal(image: RgbImage, outWidth: number): RgbImage {
  const { width, height, data } = image;
  const taps = bilinearTaps(width, outWidth);
  const out = new Uint8Array(outWidth * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let i = 0; i < outWidth; i++) {
      const base = i * taps.stride;
      const lo = taps.first[i]!;
      const n = taps.count[i]!;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let k = 0; k < n; k++) {
        const w = taps.weights[base + k]!;
        const p = row + (lo + k) * 3;
        r += data[p]! * w;
        g += data[p + 1]! * w;
        b += data[p + 2]! * w;
      }
      const o = (y * outWidth + i) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height, data: out };
}

function resizeVertical(image: RgbImage, outHeight: number): RgbImage {
  const { width, height, data } = image;
  const taps = bilinearTaps(height, outHeight);
  const rowBytes = width * 3;
  const out = new Uint8Array(outHeight * rowBytes);
  for (let j = 0; j < outHeight; j++) {
    const base = j * taps.stride;
    const lo = taps.first[j]!;
    const n = taps.count[j]!;
    for (let c = 0; c < rowBytes; c++) {
      let acc = HALF;
      for (let k = 0; k < n; k++) acc += data[(lo + k) * rowBytes + c]! * taps.weights[base + k]!;
      out[j * rowBytes + c] = clip8(acc);
    }
  }
  return { width, height: outHeight, data: out };
}
