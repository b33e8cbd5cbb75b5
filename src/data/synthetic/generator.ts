// A deterministic, seeded synthetic localization dataset: procedurally drawn objects of
// SYNTHETIC_CLASSES on cluttered procedural backgrounds, with exact masks and boxes. It trains the
// bundled models and feeds the localization metrics.
//
//   generateSample({ seed, split, index, size?, twoObjectShare? }): SyntheticSample
//     Sample `index` of `split` is a pure function of these options: any subset of a split can be
//     regenerated alone, and a seed gives byte-identical pixels on every machine (integer PRNG,
//     no Math.random / Date / Math.sin; see ../../util/random.ts and ./geometry.ts).
//   generateSplit({ seed, split, count, start?, size?, twoObjectShare? }): Generator<SyntheticSample>
//     Samples start .. start + count - 1, generated lazily (10,000 held at once would take 650 MB).
//   datasetHash(samples) in ./hash.ts: SHA-256 over pixels and annotations.
//   exportCocoSplit() in ./coco.ts writes a split to disk in COCO format.
//
// A sample is `size` × `size` RGB (default 128) holding one object, or with probability
// `twoObjectShare` (default 0.2) two objects of different classes whose masks are disjoint and
// apart. The class is the shape alone (./shapes.ts); colour, texture, size (circumscribed
// diameter 25-60 % of the side, 25-45 % with two objects), rotation and position vary
// independently, and each object lies entirely inside the image. Object colours contrast in
// luminance with the backdrop beneath; distractors (./background.ts) keep a pixel away from
// objects. An object's mask is exactly the pixels its colour was drawn on (no anti-aliasing; holes
// such as the ring's show background) and its bbox is the tight [x, y, width, height] box of the
// mask, COCO style, in pixels.
import { CamscopeError } from "../../errors.ts";
import { createRng, deriveSeed } from "../../util/random.ts";
import type { Rng } from "../../util/random.ts";
import { drawBackdrop, drawDistractors } from "./background.ts";
import { contrastSide, contrastingColor, luminance } from "./color.ts";
import { sinCos } from "./geometry.ts";
import { dilate } from "./raster.ts";
import type { RgbImage } from "./raster.ts";
import { SHAPE_CLASSES } from "./shapes.ts";
import { randomTexture } from "./texture.ts";

/** Class names; an object's `category` indexes this list. */
export const SYNTHETIC_CLASSES: readonly string[] = SHAPE_CLASSES.map((shape) => shape.name);

export const DEFAULT_IMAGE_SIZE = 128;
export const DEFAULT_TWO_OBJECT_SHARE = 0.2;
const MIN_IMAGE_SIZE = 32;
const MAX_IMAGE_SIZE = 4096;

/** Which synthetic sample to draw. */
export interface SampleOptions {
  /** The dataset seed. */
  seed: number;
  /** Any name; different splits of one seed are independent. */
  split: string;
  /** Non-negative integer. */
  index: number;
  /** Image width and height in pixels, 32 to 4096; default 128. */
  size?: number;
  /** Probability in [0, 1] that a sample holds two objects; default 0.2. */
  twoObjectShare?: number;
}

/** A run of samples of one split. */
export interface SplitOptions extends Omit<SampleOptions, "index"> {
  /** How many samples. */
  count: number;
  /** Index of the first sample; default 0. */
  start?: number;
}

/** [x, y, width, height] in pixels, x and y of the top-left pixel. */
export type Bbox = [x: number, y: number, width: number, height: number];

/** An object drawn in a synthetic sample. */
export interface SyntheticObject {
  /** Index into SYNTHETIC_CLASSES. */
  category: number;
  /** Its tight bounding box. */
  bbox: Bbox;
  /** Row-major height × width, 1 on the object's pixels, else 0. */
  mask: Uint8Array;
}

/** A synthetic image with its objects' exact masks and boxes. */
export interface SyntheticSample {
  /** Its index in the split. */
  index: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Row-major height × width × 3 (HWC, RGB). */
  rgb: Uint8Array;
  /** One or two objects. */
  objects: SyntheticObject[];
}

/** Where and how an object lies: its shape's unit frame scaled by `radius` and turned. */
interface Placement {
  category: number;
  cx: number;
  cy: number;
  radius: number;
  sin: number;
  cos: number;
}

// Circumscribed radius as a share of the side (diameter 25-60 %, or 25-45 % with two objects).
const SINGLE_RADIUS: readonly [number, number] = [0.125, 0.3];
const PAIR_RADIUS: readonly [number, number] = [0.125, 0.225];
// Pixels between two objects' circumscribed circles, and around objects free of distractors.
const PAIR_GAP = 3;
const KEEP_OUT = 1;
const PAIR_TRIES = 100;

function placement(rng: Rng, size: number, category: number, radius: number): Placement {
  // A one-pixel margin keeps every pixel centre the shape can cover inside the image.
  const cx = rng.range(radius + 1, size - 1 - radius);
  const cy = rng.range(radius + 1, size - 1 - radius);
  const [sin, cos] = sinCos(rng.range(0, 2 * Math.PI));
  return { category, cx, cy, radius, sin, cos };
}

function placeObjects(rng: Rng, size: number, twoObjects: boolean): Placement[] {
  const classes = SHAPE_CLASSES.length;
  const first = rng.int(0, classes);
  if (!twoObjects) return [placement(rng, size, first, rng.range(...SINGLE_RADIUS) * size)];
  const second = (first + rng.int(1, classes)) % classes;
  for (let attempt = 0; attempt < PAIR_TRIES; attempt++) {
    const a = placement(rng, size, first, rng.range(...PAIR_RADIUS) * size);
    const b = placement(rng, size, second, rng.range(...PAIR_RADIUS) * size);
    const reach = a.radius + b.radius + PAIR_GAP;
    if ((a.cx - b.cx) ** 2 + (a.cy - b.cy) ** 2 > reach * reach) return [a, b];
  }
  // Practically never reached; the smallest objects in opposite corners always fit.
  const radius = PAIR_RADIUS[0] * size;
  const near = radius + 1;
  const far = size - 1 - radius;
  const a = placement(rng, size, first, radius);
  const b = placement(rng, size, second, radius);
  return [
    { ...a, cx: near, cy: near },
    { ...b, cx: far, cy: far },
  ];
}

/** Calls `visit` with each pixel of the object and the pixel centre in the shape's unit frame. */
function forEachObjectPixel(
  p: Placement,
  size: number,
  visit: (pixel: number, u: number, v: number) => void,
): void {
  const inside = SHAPE_CLASSES[p.category]!.inside;
  const scale = 1 / p.radius;
  const x0 = Math.max(0, Math.floor(p.cx - p.radius));
  const x1 = Math.min(size - 1, Math.ceil(p.cx + p.radius));
  const y0 = Math.max(0, Math.floor(p.cy - p.radius));
  const y1 = Math.min(size - 1, Math.ceil(p.cy + p.radius));
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - p.cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - p.cx;
      // Rotating the pixel by -angle into the shape's frame turns the shape by +angle.
      const u = (p.cos * dx + p.sin * dy) * scale;
      const v = (p.cos * dy - p.sin * dx) * scale;
      if (inside(u, v)) visit(y * size + x, u, v);
    }
  }
}

/** The object's mask and its tight box. */
function rasterize(p: Placement, size: number): { mask: Uint8Array; bbox: Bbox } {
  const mask = new Uint8Array(size * size);
  let minX = size;
  let minY = size;
  let maxX = -1;
  let maxY = -1;
  forEachObjectPixel(p, size, (pixel) => {
    mask[pixel] = 1;
    const x = pixel % size;
    const y = (pixel - x) / size;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  });
  return { mask, bbox: [minX, minY, maxX - minX + 1, maxY - minY + 1] };
}

function meanLuminance(image: RgbImage, mask: Uint8Array, [x0, y0, w, h]: Bbox): number {
  let sum = 0;
  let count = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let pixel = y * image.width + x0, end = pixel + w; pixel < end; pixel++) {
      if (mask[pixel] !== 1) continue;
      const o = pixel * 3;
      sum += luminance([image.rgb[o]!, image.rgb[o + 1]!, image.rgb[o + 2]!]);
      count++;
    }
  }
  return sum / count;
}

function checkOptions(options: SampleOptions): { size: number; twoObjectShare: number } {
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const twoObjectShare = options.twoObjectShare ?? DEFAULT_TWO_OBJECT_SHARE;
  if (!Number.isInteger(size) || size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `size must be an integer in [${MIN_IMAGE_SIZE}, ${MAX_IMAGE_SIZE}]`,
    );
  }
  if (!(twoObjectShare >= 0 && twoObjectShare <= 1)) {
    throw new CamscopeError("INVALID_ARGUMENT", "twoObjectShare must be in [0, 1]");
  }
  if (!Number.isSafeInteger(options.index) || options.index < 0) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `index must be a non-negative integer, got ${options.index}`,
    );
  }
  return { size, twoObjectShare };
}

/** Sample `options.index` of a split: a pure function of the options. */
export function generateSample(options: SampleOptions): SyntheticSample {
  const { size, twoObjectShare } = checkOptions(options);
  const { index } = options;
  const sampleSeed = deriveSeed(options.seed, options.split, index);
  // Separate streams, so that a change to how one part is drawn leaves the others as they were.
  const layoutRng = createRng(deriveSeed(sampleSeed, 0));
  const backdropRng = createRng(deriveSeed(sampleSeed, 1));
  const clutterRng = createRng(deriveSeed(sampleSeed, 2));
  const paintRng = createRng(deriveSeed(sampleSeed, 3));

  const placements = placeObjects(layoutRng, size, layoutRng.chance(twoObjectShare));
  const shapes = placements.map((p) => rasterize(p, size));

  const image: RgbImage = { width: size, height: size, rgb: new Uint8Array(size * size * 3) };
  drawBackdrop(image, backdropRng);
  const union = new Uint8Array(size * size);
  for (const { mask } of shapes) {
    for (let pixel = 0; pixel < mask.length; pixel++) union[pixel]! |= mask[pixel]!;
  }
  drawDistractors(image, dilate(union, size, size, KEEP_OUT), clutterRng);

  const objects = placements.map((p, k): SyntheticObject => {
    const { mask, bbox } = shapes[k]!;
    const below = meanLuminance(image, mask, bbox);
    const primary = contrastingColor(paintRng, below);
    const secondary = contrastingColor(paintRng, below, contrastSide(primary, below));
    const texture = randomTexture(paintRng, primary, secondary);
    forEachObjectPixel(p, size, (pixel, u, v) => {
      const color = texture(u, v);
      const o = pixel * 3;
      image.rgb[o] = Math.round(color[0]);
      image.rgb[o + 1] = Math.round(color[1]);
      image.rgb[o + 2] = Math.round(color[2]);
    });
    return { category: p.category, bbox, mask };
  });

  return { index, width: size, height: size, rgb: image.rgb, objects };
}

/** Samples `start` to `start + count - 1` of a split, generated lazily. */
export function* generateSplit(options: SplitOptions): Generator<SyntheticSample> {
  const start = options.start ?? 0;
  if (!Number.isSafeInteger(options.count) || options.count < 0) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `count must be a non-negative integer, got ${options.count}`,
    );
  }
  for (let index = start; index < start + options.count; index++) {
    yield generateSample({ ...options, index });
  }
}
