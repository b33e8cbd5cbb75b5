// Bilinear resizing of float maps (CAMs, saliency) and mapping them back onto the original photo.
//
// resizeBilinear reproduces PyTorch's F.interpolate(x, size=(outH, outW), mode="bilinear",
// align_corners=False) without antialiasing, which is how CAM methods upsample their maps:
// - output pixel i samples input coordinate (i + 0.5) * (in / out) - 0.5 (half-pixel centres),
//   clamped below at 0;
// - the lower neighbour is floor of that, the upper one is clamped to the last pixel (edge
//   replication), and a dimension whose size does not change is copied;
// - rounding follows PyTorch's CPU kernel: the scale in/out is float32, the source coordinate is
//   formed in double, the two lambdas per axis and the four products of lambdas are rounded to
//   float32, and the four-term weighted sum is rounded to float32 once. Checked against PyTorch
//   1.13 (CPU, float32) on random maps of many sizes, this gives identical bits.
import { CamscopeError } from "../errors.ts";
import type { FloatMap, InputTransform } from "./types.ts";
import { assertFloatMap } from "./types.ts";

const f32 = Math.fround;

/** Per-output-pixel neighbours and weights along one axis. */
interface AxisSamples {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

/** PyTorch's compute_source_index_and_lambda for linear interpolation, align_corners=False. */
function axisSamples(inSize: number, outSize: number): AxisSamples {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  const ratio = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      i0[o] = o;
      i1[o] = o;
      w0[o] = 1;
      w1[o] = 0;
      continue;
    }
    // The source coordinate is formed in double (PyTorch's `(dst_index + 0.5)` promotes it); only
    // the interpolation weights are stored as float32.
    const real = Math.max(ratio * (o + 0.5) - 0.5, 0);
    const lo = Math.min(Math.floor(real), inSize - 1);
    const lambda = Math.min(Math.max(f32(real - lo), 0), 1);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    w1[o] = lambda;
    w0[o] = f32(1 - lambda);
  }
  return { i0, i1, w0, w1 };
}

/**
 * Resizes a batch of n maps, each h x w and stored contiguously (n x h x w), to outH x outW with
 * F.interpolate's bilinear, align_corners=False semantics (see the file header).
 */
export function resizeBilinear(
  maps: Float32Array,
  n: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  for (const [name, v] of Object.entries({ n, h, w, outH, outW })) {
    if (!Number.isInteger(v) || v < 0 || (name !== "n" && v === 0)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `resizeBilinear: ${name} must be a positive integer, got ${v}`,
      );
    }
  }
  if (maps.length !== n * h * w) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `resizeBilinear: expected ${n}x${h}x${w} = ${n * h * w} values, got ${maps.length}`,
    );
  }
  const ys = axisSamples(h, outH);
  const xs = axisSamples(w, outW);
  const out = new Float32Array(n * outH * outW);
  for (let b = 0; b < n; b++) {
    const src = b * h * w;
    const dst = b * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const row0 = src + ys.i0[oy]! * w;
      const row1 = src + ys.i1[oy]! * w;
      const wy0 = ys.w0[oy]!;
      const wy1 = ys.w1[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = xs.i0[ox]!;
        const x1 = xs.i1[ox]!;
        const wx0 = xs.w0[ox]!;
        const wx1 = xs.w1[ox]!;
        out[dst + oy * outW + ox] =
          maps[row0 + x0]! * f32(wy0 * wx0) +
          maps[row0 + x1]! * f32(wy0 * wx1) +
          maps[row1 + x0]! * f32(wy1 * wx0) +
          maps[row1 + x1]! * f32(wy1 * wx1);
      }
    }
  }
  return out;
}

/** Resizes one FloatMap; a convenience over resizeBilinear. */
export function resizeMap(map: FloatMap, width: number, height: number): FloatMap {
  assertFloatMap(map);
  return { width, height, data: resizeBilinear(map.data, 1, map.height, map.width, height, width) };
}

/** Options of {@link mapToOriginal}. */
export interface MapToOriginalOptions {
  /**
   * Value for original pixels the model never saw (cut away by the center crop). Default 0;
   * pass NaN to mark them, which overlayHeatmap then leaves uncoloured.
   */
  outside?: number;
}

/**
 * Carries a map computed at the model input size back onto the original image (original size),
 * undoing the center crop and the resize of `transform`.
 *
 * Each original pixel centre is mapped through the resize (half-pixel rule) into the crop; inside
 * the crop the map is sampled bilinearly with edge clamping, as resizeBilinear would upsample
 * an uncropped map, and outside it gets `options.outside`. So for "stretch" and "none"
 * preprocessing this equals resizeBilinear to the original size (up to float rounding).
 */
export function mapToOriginal(
  map: FloatMap,
  transform: InputTransform,
  options: MapToOriginalOptions = {},
): FloatMap {
  assertFloatMap(map);
  if (map.width !== transform.inputWidth || map.height !== transform.inputHeight) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `mapToOriginal: map is ${map.width}x${map.height} but the model input was ` +
        `${transform.inputWidth}x${transform.inputHeight}; resize it to the input size first`,
    );
  }
  const outside = options.outside ?? 0;
  const { originalWidth: ow, originalHeight: oh } = transform;
  const xs = cropSamples(ow, transform.resizedWidth, transform.cropLeft, map.width);
  const ys = cropSamples(oh, transform.resizedHeight, transform.cropTop, map.height);
  const out = new Float32Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    const rowOut = y * ow;
    if (!ys.inside[y]) {
      out.fill(outside, rowOut, rowOut + ow);
      continue;
    }
    const row0 = ys.i0[y]! * map.width;
    const row1 = ys.i1[y]! * map.width;
    const wy0 = ys.w0[y]!;
    const wy1 = ys.w1[y]!;
    for (let x = 0; x < ow; x++) {
      if (!xs.inside[x]) {
        out[rowOut + x] = outside;
        continue;
      }
      const x0 = xs.i0[x]!;
      const x1 = xs.i1[x]!;
      const top = map.data[row0 + x0]! * xs.w0[x]! + map.data[row0 + x1]! * xs.w1[x]!;
      const bottom = map.data[row1 + x0]! * xs.w0[x]! + map.data[row1 + x1]! * xs.w1[x]!;
      out[rowOut + x] = top * wy0 + bottom * wy1;
    }
  }
  return { width: ow, height: oh, data: out };
}

/**
 * Along one axis: where each original pixel falls in the crop. Original pixel o has its centre
 * at resized coordinate (o + 0.5) * resized / original - 0.5; it is inside when that centre lies
 * within the crop's pixels, [cropStart - 0.5, cropStart + cropSize - 0.5).
 */
function cropSamples(
  originalSize: number,
  resizedSize: number,
  cropStart: number,
  cropSize: number,
): AxisSamples & { inside: Uint8Array } {
  const i0 = new Int32Array(originalSize);
  const i1 = new Int32Array(originalSize);
  const w0 = new Float32Array(originalSize);
  const w1 = new Float32Array(originalSize);
  const inside = new Uint8Array(originalSize);
  const ratio = resizedSize / originalSize;
  for (let o = 0; o < originalSize; o++) {
    const c = (o + 0.5) * ratio - 0.5 - cropStart;
    if (c < -0.5 || c >= cropSize - 0.5) continue;
    const clamped = Math.max(c, 0);
    const lo = Math.min(Math.floor(clamped), cropSize - 1);
    const lambda = Math.min(clamped - lo, 1);
    inside[o] = 1;
    i0[o] = lo;
    i1[o] = lo < cropSize - 1 ? lo + 1 : lo;
    w1[o] = lambda;
    w0[o] = 1 - lambda;
  }
  return { i0, i1, w0, w1, inside };
}
