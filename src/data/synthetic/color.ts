// Colours of the synthetic dataset, as RGB triples in 0..255 (doubles until written to pixels).
import type { Rng } from "../../util/random.ts";

export type Rgb = readonly [r: number, g: number, b: number];

/** HSV to RGB; hue in turns (any real), saturation and value in [0, 1]. */
export function hsv(hue: number, saturation: number, value: number): Rgb {
  const h = (hue - Math.floor(hue)) * 6;
  const sector = Math.floor(h);
  const f = h - sector;
  const v = value * 255;
  const p = v * (1 - saturation);
  const q = v * (1 - saturation * f);
  const t = v * (1 - saturation * (1 - f));
  switch (sector) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

/** Relative luminance in [0, 1] with Rec. 601 weights (no gamma: only used to compare). */
export function luminance([r, g, b]: Rgb): number {
  return (0.299 * r + 0.587 * g + 0.114 * b) / 255;
}

export function randomColor(
  rng: Rng,
  saturation: readonly [number, number],
  value: readonly [number, number],
): Rgb {
  return hsv(rng.next(), rng.range(...saturation), rng.range(...value));
}

// Objects must stand out from whatever lies under them, or their outline (the class) is lost.
const MIN_CONTRAST = 0.3;
const CONTRAST_TRIES = 24;

/** Which way a colour departs from the background's luminance. */
export type ContrastSide = "darker" | "lighter";

export function contrastSide(color: Rgb, backgroundLuminance: number): ContrastSide {
  return luminance(color) < backgroundLuminance ? "darker" : "lighter";
}

/**
 * A colour whose luminance differs from `backgroundLuminance` by at least MIN_CONTRAST, on the
 * given side of it if `side` is set (a second colour of an object on the same side as its first
 * keeps every part of the object, a gradient's middle included, apart from the background).
 */
export function contrastingColor(rng: Rng, backgroundLuminance: number, side?: ContrastSide): Rgb {
  for (let attempt = 0; attempt < CONTRAST_TRIES; attempt++) {
    const color = randomColor(rng, [0.3, 1], [0.1, 1]);
    const difference = luminance(color) - backgroundLuminance;
    const wanted = side ?? (difference < 0 ? "darker" : "lighter");
    if (wanted === "darker" ? difference <= -MIN_CONTRAST : difference >= MIN_CONTRAST)
      return color;
  }
  // Rarely reached: a dark colour or a light tint, whichever lies farther from the background.
  const fallback = side ?? (backgroundLuminance > 0.5 ? "darker" : "lighter");
  return fallback === "darker"
    ? randomColor(rng, [0.3, 1], [0.05, 0.2])
    : hsv(rng.next(), rng.range(0, 0.25), rng.range(0.92, 1));
}
