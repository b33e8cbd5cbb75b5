// A minimal RGB raster for the synthetic dataset: fills without anti-aliasing, so that every
// pixel is either drawn or not and masks are exact. A region holds the pixels whose centres
// (x + 0.5, y + 0.5) lie in it. Fills work row by row on spans, because testing every pixel of a
// bounding box made clutter the bulk of the generation time.
import { segmentDistanceSquared } from "./geometry.ts";
import type { Point } from "./geometry.ts";
import type { Rgb } from "./color.ts";

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Row-major, 3 bytes per pixel. */
  readonly rgb: Uint8Array;
}

/** Blends pixels x0 .. x1 - 1 of row y towards `color`, skipping those set in `keepOut`. */
function paintSpan(
  image: RgbImage,
  keepOut: Uint8Array,
  y: number,
  x0: number,
  x1: number,
  color: Rgb,
  alpha: number,
): void {
  const { rgb } = image;
  const from = Math.max(0, x0);
  const to = Math.min(image.width, x1);
  for (let pixel = y * image.width + from, end = y * image.width + to; pixel < end; pixel++) {
    if (keepOut[pixel] === 1) continue;
    const o = pixel * 3;
    rgb[o] = Math.round(rgb[o]! + alpha * (color[0] - rgb[o]!));
    rgb[o + 1] = Math.round(rgb[o + 1]! + alpha * (color[1] - rgb[o + 1]!));
    rgb[o + 2] = Math.round(rgb[o + 2]! + alpha * (color[2] - rgb[o + 2]!));
  }
}

/** Row range [y0, y1) of pixel centres within [top, bottom], clipped to the image. */
function rowsBetween(image: RgbImage, top: number, bottom: number): [number, number] {
  return [Math.max(0, Math.ceil(top - 0.5)), Math.min(image.height, Math.floor(bottom - 0.5) + 1)];
}

/**
 * Blends `color` with opacity `alpha` into a polygon (pixel coordinates, even-odd rule), skipping
 * pixels set in `keepOut` (a row-major 0/1 mask of the image).
 */
export function fillPolygon(
  image: RgbImage,
  keepOut: Uint8Array,
  polygon: readonly Point[],
  color: Rgb,
  alpha = 1,
): void {
  const ys = polygon.map(([, y]) => y);
  const [y0, y1] = rowsBetween(image, Math.min(...ys), Math.max(...ys));
  const crossings: number[] = [];
  for (let y = y0; y < y1; y++) {
    const cy = y + 0.5;
    crossings.length = 0;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i]!;
      const [xj, yj] = polygon[j]!;
      if (yi > cy !== yj > cy) crossings.push(xj + ((cy - yj) * (xi - xj)) / (yi - yj));
    }
    crossings.sort((a, b) => a - b);
    // A pixel centre is inside when an odd number of crossings lies to its right, i.e. between
    // crossings 2k and 2k + 1.
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const x0 = Math.ceil(crossings[k]! - 0.5);
      const x1 = Math.ceil(crossings[k + 1]! - 0.5);
      paintSpan(image, keepOut, y, x0, x1, color, alpha);
    }
  }
}

/**
 * An opaque stroke of half-width `halfWidth` along the segment a–b, with round caps: the pixels
 * within `halfWidth` of the segment, skipping pixels set in `keepOut`.
 */
export function strokeSegment(
  image: RgbImage,
  keepOut: Uint8Array,
  a: Point,
  b: Point,
  halfWidth: number,
  color: Rgb,
): void {
  const [ax, ay] = a;
  const dx = b[0] - ax;
  const dy = b[1] - ay;
  const limit = halfWidth * halfWidth;
  const [y0, y1] = rowsBetween(
    image,
    Math.min(ay, b[1]) - halfWidth,
    Math.max(ay, b[1]) + halfWidth,
  );
  const left = Math.min(ax, b[0]) - halfWidth;
  const right = Math.max(ax, b[0]) + halfWidth;
  // Where the row meets the band within halfWidth of the segment's line (a superset of the
  // stroke); its ends get a pixel of slack and every candidate pixel is then tested exactly.
  const slope = Math.abs(dx) * 1e-9 < Math.abs(dy) ? dx / dy : null;
  const bandHalf = slope === null ? 0 : (halfWidth * Math.sqrt(dx * dx + dy * dy)) / Math.abs(dy);
  for (let y = y0; y < y1; y++) {
    const cy = y + 0.5;
    let from = left;
    let to = right;
    if (slope !== null) {
      const center = ax + (cy - ay) * slope;
      from = Math.max(from, center - bandHalf);
      to = Math.min(to, center + bandHalf);
    }
    const x0 = Math.max(0, Math.floor(from) - 1);
    const x1 = Math.min(image.width, Math.ceil(to) + 1);
    for (let x = x0; x < x1; x++) {
      if (segmentDistanceSquared(x + 0.5, cy, a, b) <= limit) {
        paintSpan(image, keepOut, y, x, x + 1, color, 1);
      }
    }
  }
}

/**
 * `mask` grown by `radius` pixels in every direction (a square structuring element): a pixel is
 * set when a set pixel lies within `radius` of it along each axis.
 */
export function dilate(
  mask: Uint8Array,
  width: number,
  height: number,
  radius: number,
): Uint8Array {
  // Separable: spread along rows, then along columns, each with a forward and a backward sweep
  // that count the distance to the last set pixel seen.
  const spread = (
    source: Uint8Array,
    lines: number,
    length: number,
    step: number,
    next: number,
  ) => {
    const out = new Uint8Array(source.length);
    for (let line = 0; line < lines; line++) {
      const base = line * next;
      let gap = radius + 1;
      for (let i = 0; i < length; i++) {
        gap = source[base + i * step] === 1 ? 0 : gap + 1;
        if (gap <= radius) out[base + i * step] = 1;
      }
      gap = radius + 1;
      for (let i = length - 1; i >= 0; i--) {
        gap = source[base + i * step] === 1 ? 0 : gap + 1;
        if (gap <= radius) out[base + i * step] = 1;
      }
    }
    return out;
  };
  return spread(spread(mask, height, width, 1, width), width, height, width, 1);
}
