// Colormaps for heatmaps, built from analytic definitions or published polynomial fits rather
// than copied lookup tables, and sampled into 256-entry tables like matplotlib's (N = 256).
//
// Sources of each definition:
// - jet: the classic piecewise-linear MATLAB/OpenCV "jet" written as clamped ramps in 4t.
// - viridis, inferno: Matt Zucker's published degree-6 least-squares polynomial fits.
// - turbo: Ruofei Du's published polynomial fit of Google's Turbo, with the red and blue channels
//   refitted at higher degree as published by "tpfto" (2020).
// - coolwarm: Kenneth Moreland's diverging-map algorithm ("Diverging Color Maps for Scientific
//   Visualization", 2009): interpolation in his Msh space between his published blue and red.
// - bwr: straight lines blue -> white -> red, as matplotlib's bwr.
// - gray: black to white.
// Polynomial fits are a few units off at the ends, and the ends are the colours users see most
// (the minimum and maximum of every normalised map), so each fit gets a small correction that
// fades out towards the middle and pins it to the colormap's published end colours.

import { CamscopeError } from "../errors.ts";
import { morelandDiverging } from "./moreland.ts";
import type { Rgb } from "./types.ts";

// Colours as fractions in [0, 1] per channel, not bytes.
type Unit3 = readonly [number, number, number];
type Curve = (t: number) => Unit3;

/** The colormaps camscope draws heatmaps with. */
export const COLORMAP_NAMES = [
  "jet",
  "turbo",
  "viridis",
  "inferno",
  "gray",
  "coolwarm",
  "bwr",
] as const;
/** One of {@link COLORMAP_NAMES}. */
export type ColormapName = (typeof COLORMAP_NAMES)[number];

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

const jet: Curve = (t) => [
  clamp01(Math.min(4 * t - 1.5, 4.5 - 4 * t)),
  clamp01(Math.min(4 * t - 0.5, 3.5 - 4 * t)),
  clamp01(Math.min(4 * t + 0.5, 2.5 - 4 * t)),
];

/** Evaluates per-channel polynomials given lowest-order coefficient first. */
function polynomial(
  red: readonly number[],
  green: readonly number[],
  blue: readonly number[],
): Curve {
  const horner = (c: readonly number[], t: number): number =>
    c.reduceRight((acc, k) => acc * t + k, 0);
  return (t) => [horner(red, t), horner(green, t), horner(blue, t)];
}

/**
 * Adds (1 - t)^6 * (start - fit(0)) + t^6 * (end - fit(1)) so the curve hits the published end
 * colours exactly while the interior, where the fit is good, moves by at most a few units.
 */
function pinEnds(fit: Curve, startHex: string, endHex: string): Curve {
  const start = hexToRgb(startHex);
  const end = hexToRgb(endHex);
  const f0 = fit(0);
  const f1 = fit(1);
  return (t) => {
    const a = (1 - t) ** 6;
    const b = t ** 6;
    const v = fit(t);
    const pin = (c: 0 | 1 | 2): number => v[c] + a * (start[c] - f0[c]) + b * (end[c] - f1[c]);
    return [pin(0), pin(1), pin(2)];
  };
}

function hexToRgb(hex: string): Unit3 {
  const n = Number.parseInt(hex.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

const viridis = pinEnds(
  polynomial(
    [
      0.2777273272234177, 0.1050930431085774, -0.3308618287255563, -4.634230498983486,
      6.228269936347081, 4.776384997670288, -5.435455855934631,
    ],
    [
      0.005407344544966578, 1.404613529898575, 0.214847559468213, -5.799100973351585,
      14.17993336680509, -13.74514537774601, 4.645852612178535,
    ],
    [
      0.3340998053353061, 1.384590162594685, 0.09509516302823659, -19.33244095627987,
      56.69055260068105, -65.35303263337234, 26.3124352495832,
    ],
  ),
  "#440154",
  "#fde725",
);

const inferno = pinEnds(
  polynomial(
    [
      0.0002189403691192265, 0.1065134194856116, 11.60249308247187, -41.70399613139459,
      77.162935699427, -71.31942824499214, 25.13112622477341,
    ],
    [
      0.001651004631001012, 0.5639564367884091, -3.972853965665698, 17.43639888205313,
      -33.40235894210092, 32.62606426397723, -12.24266895238567,
    ],
    [
      -0.01948089843709184, 3.932712388889277, -15.9423941062914, 44.35414519872813,
      -81.80730925738993, 73.20951985803202, -23.07032500287172,
    ],
  ),
  "#000004",
  "#fcffa4",
);

const turbo = pinEnds(
  polynomial(
    [
      0.14434465, 4.9960608, -50.24955545, 172.35660841, -240.965669, 141.551844, -23.44894394,
      -3.88640322,
    ],
    [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
    [0.17597339, 11.13054206, -52.17062334, 92.00658112, -72.72155837, 21.57469569],
  ),
  "#30123b",
  "#7a0403",
);

const gray: Curve = (t) => [t, t, t];

const bwr: Curve = (t) => (t < 0.5 ? [2 * t, 2 * t, 1] : [1, 2 - 2 * t, 2 - 2 * t]);

const coolwarm = morelandDiverging([0.23, 0.299, 0.754], [0.706, 0.016, 0.15]);

const CURVES: Record<ColormapName, Curve> = { jet, turbo, viridis, inferno, gray, coolwarm, bwr };

const tables = new Map<ColormapName, Uint8Array>();

/** The colormap sampled at 256 evenly spaced points, as RGB bytes (768 entries). */
export function colormapTable(name: ColormapName): Uint8Array {
  if (!(COLORMAP_NAMES as readonly string[]).includes(name)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown colormap "${name}" (valid: ${COLORMAP_NAMES.join(", ")})`,
    );
  }
  let table = tables.get(name);
  if (!table) {
    const curve = CURVES[name];
    table = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      const rgb = curve(i / 255);
      for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(clamp01(rgb[c]!) * 255);
    }
    tables.set(name, table);
  }
  return table;
}

/** Options of {@link applyColormap}. */
export interface ColormapOptions {
  /** Colour for NaN values, as RGB bytes; default black. */
  nanColor?: Rgb;
}

/**
 * Colours values in [0, 1] (clamped) with a named colormap, returning RGB bytes (3 per value).
 * Values pick one of 256 colours as matplotlib does: index floor(v * 256), capped at 255.
 */
export function applyColormap(
  values: ArrayLike<number>,
  name: ColormapName,
  options: ColormapOptions = {},
): Uint8Array {
  const table = colormapTable(name);
  const nan = options.nanColor ?? [0, 0, 0];
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) {
      out.set(nan, i * 3);
      continue;
    }
    const index = Math.min(255, Math.max(0, Math.floor(v * 256)));
    out[i * 3] = table[index * 3]!;
    out[i * 3 + 1] = table[index * 3 + 1]!;
    out[i * 3 + 2] = table[index * 3 + 2]!;
  }
  return out;
}

/** Options of {@link applySignedColormap}. */
export interface SignedColormapOptions extends ColormapOptions {
  /** Values at -maxAbs and +maxAbs get the colormap's ends; default max |value| (1 if all 0). */
  maxAbs?: number;
}

/**
 * Colours signed values (attributions) so that 0 is the colormap's middle and ±maxAbs its ends:
 * v -> (v / maxAbs + 1) / 2. Use with a diverging colormap (coolwarm by default).
 */
export function applySignedColormap(
  values: ArrayLike<number>,
  name: ColormapName = "coolwarm",
  options: SignedColormapOptions = {},
): Uint8Array {
  const maxAbs = options.maxAbs ?? maxAbsOf(values);
  if (!(maxAbs > 0) || !Number.isFinite(maxAbs)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `maxAbs must be a positive finite number, got ${maxAbs}`,
    );
  }
  const scaled = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) scaled[i] = (values[i]! / maxAbs + 1) / 2;
  return applyColormap(scaled, name, options);
}

/** Largest finite |value|, or 1 when there is none, so an all-zero map still colours. */
export function maxAbsOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m > 0 ? m : 1;
}
