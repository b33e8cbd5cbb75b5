// Cluttered procedural backgrounds: a smooth two-colour gradient modulated by low-frequency value
// noise, then distractors that belong to no class (irregular blobs, thin lines, squiggles, small
// irregular polygons) so that a classifier cannot find the object as "the only thing there".
// Distractors never touch `keepOut`, the objects' pixels grown by a margin.
import { radialPolygon, sinCos } from "./geometry.ts";
import type { Point } from "./geometry.ts";
import { randomColor } from "./color.ts";
import type { Rgb } from "./color.ts";
import { fillPolygon, strokeSegment } from "./raster.ts";
import type { RgbImage } from "./raster.ts";
import type { Rng } from "../../util/random.ts";

/**
 * Adds `weight` × smooth noise in [-1, 1] to `field` (row-major width × height): random values on
 * a grid of `cells` × `cells` cells spanning the image, blended with smoothstep weights.
 */
function addValueNoise(
  field: Float64Array,
  width: number,
  height: number,
  cells: number,
  weight: number,
  rng: Rng,
): void {
  const stride = cells + 1;
  const grid = Float64Array.from({ length: stride * stride }, () => weight * rng.range(-1, 1));
  // Per column (and per row): the grid cell and the smoothstep blend weight of its far side.
  const cellAndBlend = (length: number) => {
    const cell = new Int32Array(length);
    const blend = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const g = ((i + 0.5) / length) * cells;
      const c = Math.min(cells - 1, Math.floor(g));
      const t = g - c;
      cell[i] = c;
      blend[i] = t * t * (3 - 2 * t);
    }
    return { cell, blend };
  };
  const columns = cellAndBlend(width);
  const rows = cellAndBlend(height);
  for (let y = 0; y < height; y++) {
    const rowStart = rows.cell[y]! * stride;
    const sy = rows.blend[y]!;
    for (let x = 0; x < width; x++) {
      const i = rowStart + columns.cell[x]!;
      const sx = columns.blend[x]!;
      const top = grid[i]! + sx * (grid[i + 1]! - grid[i]!);
      const bottom = grid[i + stride]! + sx * (grid[i + stride + 1]! - grid[i + stride]!);
      field[y * width + x]! += top + sy * (bottom - top);
    }
  }
}

/** Fills the whole image with a noisy gradient. */
export function drawBackdrop(image: RgbImage, rng: Rng): void {
  const { width, height } = image;
  // Stores through a clamped view round half to even and clamp to 0..255, as the specification
  // fixes, in one fast step.
  const rgb = new Uint8ClampedArray(image.rgb.buffer, image.rgb.byteOffset, image.rgb.length);
  const [r0, g0, b0] = randomColor(rng, [0.05, 0.6], [0.15, 0.95]);
  const [r1, g1, b1] = randomColor(rng, [0.05, 0.6], [0.15, 0.95]);
  const [sin, cos] = sinCos(rng.range(0, 2 * Math.PI));
  const noise = new Float64Array(width * height);
  const amplitude = rng.range(15, 45);
  addValueNoise(noise, width, height, rng.int(2, 5), amplitude, rng);
  addValueNoise(noise, width, height, rng.int(6, 11), amplitude / 2, rng);
  const tintR = rng.range(0.4, 1);
  const tintG = rng.range(0.4, 1);
  const tintB = rng.range(0.4, 1);
  const side = Math.max(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const along = ((x + 0.5 - width / 2) * cos + (y + 0.5 - height / 2) * sin) / side;
      const t = Math.min(1, Math.max(0, along + 0.5));
      const pixel = y * width + x;
      const n = noise[pixel]!;
      rgb[pixel * 3] = r0 + t * (r1 - r0) + n * tintR;
      rgb[pixel * 3 + 1] = g0 + t * (g1 - g0) + n * tintG;
      rgb[pixel * 3 + 2] = b0 + t * (b1 - b0) + n * tintB;
    }
  }
}

function clutterColor(rng: Rng): Rgb {
  return randomColor(rng, [0, 1], [0.05, 1]);
}

/** An irregular closed outline: a circle of `radius` with random low harmonics in its radius. */
function blobOutline(rng: Rng, radius: number): Point[] {
  const harmonics = [2, 3, 4, 5].map((k) => ({
    k,
    amplitude: rng.range(0.05, 0.3) / (k - 1),
    phase: rng.range(0, 2 * Math.PI),
  }));
  const radii = Array.from({ length: 28 }, (_, i) => {
    let r = 1;
    for (const { k, amplitude, phase } of harmonics) {
      r += amplitude * sinCos(phase + (2 * Math.PI * k * i) / 28)[1];
    }
    return radius * r;
  });
  return radialPolygon(radii, rng.range(0, 2 * Math.PI));
}

function translate(outline: readonly Point[], [cx, cy]: Point): Point[] {
  return outline.map(([x, y]) => [x + cx, y + cy] as const);
}

/** Draws distractors over the backdrop, leaving the pixels set in `keepOut` alone. */
export function drawDistractors(image: RgbImage, keepOut: Uint8Array, rng: Rng): void {
  const side = Math.min(image.width, image.height);
  const anywhere = (margin: number): Point => [
    rng.range(-margin, image.width + margin),
    rng.range(-margin, image.height + margin),
  ];

  const blobs = rng.int(2, 6);
  for (let i = 0; i < blobs; i++) {
    const outline = translate(blobOutline(rng, rng.range(0.05, 0.15) * side), anywhere(0));
    fillPolygon(image, keepOut, outline, clutterColor(rng), rng.range(0.4, 1));
  }

  const lines = rng.int(2, 6);
  for (let i = 0; i < lines; i++) {
    const a = anywhere(0.2 * side);
    const b = anywhere(0.2 * side);
    strokeSegment(image, keepOut, a, b, rng.range(0.005, 0.012) * side, clutterColor(rng));
  }

  // Five to eight vertices at jittered radii: never a regular triangle, square or hexagon.
  const polygons = rng.int(1, 5);
  for (let i = 0; i < polygons; i++) {
    const radius = rng.range(0.04, 0.1) * side;
    const radii = Array.from({ length: rng.int(5, 9) }, () => radius * rng.range(0.45, 1));
    const outline = translate(radialPolygon(radii, rng.range(0, 2 * Math.PI)), anywhere(0));
    fillPolygon(image, keepOut, outline, clutterColor(rng));
  }

  const squiggles = rng.int(1, 4);
  for (let i = 0; i < squiggles; i++) {
    const halfWidth = rng.range(0.008, 0.02) * side;
    const step = rng.range(0.04, 0.08) * side;
    const color = clutterColor(rng);
    let point = anywhere(0);
    let heading = rng.range(0, 2 * Math.PI);
    const steps = rng.int(5, 13);
    for (let s = 0; s < steps; s++) {
      heading += rng.range(-0.9, 0.9);
      const [sin, cos] = sinCos(heading);
      const nextPoint: Point = [point[0] + step * cos, point[1] + step * sin];
      strokeSegment(image, keepOut, point, nextPoint, halfWidth, color);
      point = nextPoint;
    }
  }
}
