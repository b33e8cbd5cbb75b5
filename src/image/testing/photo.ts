// A procedural stand-in for a photograph, for checking how maps display on photo-like input (the
// repository holds no real photos): a sky with clouds, hills, a textured field, and a shaded,
// grained object of one of the synthetic classes on a post with a soft shadow, then lens
// vignetting and sensor noise. Unlike the synthetic dataset's flat-coloured samples, every pixel
// carries fine texture at several scales, which is what makes gradient maps of photos
// heavy-tailed. Deterministic for a seed.
import { SHAPE_CLASSES } from "../../data/synthetic/shapes.ts";
import { createRng, type Rng } from "../../util/random.ts";
import type { RgbImage } from "../types.ts";

export interface PhotoOptions {
  width: number;
  height: number;
  /** Every random draw (noise lattices, placement, paint, sensor noise) follows from it. */
  seed: number;
  /** A synthetic class name (default "star"). */
  shape?: string;
}

type Noise = (x: number, y: number) => number;

/** Smooth value noise in [0, 1] on a lattice of `cell` pixels, summed over `octaves`. */
function fractalNoise(rng: Rng, cell: number, octaves: number): Noise {
  const size = 64;
  const lattice = Float64Array.from({ length: size * size }, () => rng.next());
  const at = (i: number, j: number): number =>
    lattice[(((j % size) + size) % size) * size + (((i % size) + size) % size)]!;
  const smooth = (t: number): number => t * t * (3 - 2 * t);
  const octave = (x: number, y: number): number => {
    const i = Math.floor(x);
    const j = Math.floor(y);
    const u = smooth(x - i);
    const v = smooth(y - j);
    const top = at(i, j) * (1 - u) + at(i + 1, j) * u;
    const bottom = at(i, j + 1) * (1 - u) + at(i + 1, j + 1) * u;
    return top * (1 - v) + bottom * v;
  };
  return (x, y) => {
    let sum = 0;
    let weight = 0;
    for (let o = 0; o < octaves; o++) {
      const f = 2 ** o;
      sum += octave((x * f) / cell + 17 * o, (y * f) / cell + 31 * o) / f;
      weight += 1 / f;
    }
    return sum / weight;
  };
}

const mix = (a: number, b: number, t: number): number => a + (b - a) * t;

/** The photo-like image of `options`, identical for identical options. */
export function photoLikeImage(options: PhotoOptions): RgbImage {
  const { width, height } = options;
  const rng = createRng(options.seed);
  const shape = SHAPE_CLASSES.find((s) => s.name === (options.shape ?? "star"));
  if (!shape) throw new Error(`unknown shape "${options.shape}"`);
  const clouds = fractalNoise(rng, width / 4, 5);
  const ridge = fractalNoise(rng, width / 3, 3);
  const field = fractalNoise(rng, width / 10, 5);
  const grass = fractalNoise(rng, 3, 2);
  const grain = fractalNoise(rng, 4, 3);
  const horizon = height * 0.45;
  // The object: centre, radius and turn; it stands on a post above its shadow.
  const cx = width * rng.range(0.4, 0.6);
  const cy = height * rng.range(0.4, 0.5);
  const radius = Math.min(width, height) * 0.27;
  const turn = rng.range(-0.3, 0.3);
  const [sin, cos] = [Math.sin(turn), Math.cos(turn)];
  const paint = [rng.range(170, 230), rng.range(40, 90), rng.range(30, 70)] as const;
  // Coverage of a pixel by the object, from 4 x 4 subsamples (anti-aliased edges).
  const coverage = (x: number, y: number, dx = 0, dy = 0): number => {
    let hits = 0;
    for (let sy = 0; sy < 4; sy++) {
      for (let sx = 0; sx < 4; sx++) {
        const px = (x + (sx + 0.5) / 4 - cx - dx) / radius;
        const py = (y + (sy + 0.5) / 4 - cy - dy) / radius;
        if (shape.inside(cos * px + sin * py, -sin * px + cos * py)) hits++;
      }
    }
    return hits / 16;
  };

  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let rgb: [number, number, number];
      const hill = horizon - height * 0.12 * ridge(x, 0);
      if (y < hill) {
        const t = y / hill;
        const c = Math.max(0, (clouds(x, y) - 0.5) * 2.5);
        rgb = [mix(95, 185, t), mix(145, 210, t), mix(215, 240, t)];
        rgb = rgb.map((v) => mix(v, 245, Math.min(1, c))) as [number, number, number];
      } else if (y < horizon) {
        const haze = (y - hill) / Math.max(1, horizon - hill);
        rgb = [mix(80, 60, haze), mix(110, 95, haze), mix(120, 80, haze)];
      } else {
        const depth = (y - horizon) / (height - horizon);
        const f = field(x, y);
        const g = grass(x, y * (1 + depth));
        rgb = [60 + 60 * f + 30 * g, 90 + 50 * f + 40 * g, 30 + 20 * f + 10 * g];
        rgb = rgb.map((v) => v * (0.75 + 0.35 * depth)) as [number, number, number];
        // The soft shadow of the object falls down and to the right.
        const shade = coverage(x, y, radius * 0.25, radius * 0.55);
        if (shade > 0) rgb = rgb.map((v) => v * (1 - 0.45 * shade)) as [number, number, number];
      }
      // The post from the object down to the ground.
      if (Math.abs(x - cx) < radius * 0.06 && y > cy && y < height * 0.9) {
        const w = grain(x * 0.3, y * 3);
        rgb = [90 + 40 * w, 60 + 25 * w, 35 + 15 * w];
      }
      const cover = coverage(x, y);
      if (cover > 0) {
        // Lit from the upper left: brighter towards it, with a wood grain along the object.
        const light = 1.05 - 0.35 * (((x - cx) / radius + (y - cy) / radius) * 0.5 + 0.5);
        const w = grain(x * 0.4, y * 4);
        const object = paint.map((v) => v * light * (0.8 + 0.35 * w));
        rgb = rgb.map((v, c) => mix(v, object[c]!, cover)) as [number, number, number];
      }
      const r2 = ((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2;
      const vignette = 1 - 0.6 * r2;
      for (let c = 0; c < 3; c++) {
        const v = rgb[c]! * vignette + 4 * rng.normal();
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { width, height, data };
}
