// RISE (Petsiuk et al. 2018): the saliency of a pixel is the mean target score of the input
// masked by random smooth masks, weighted by the mask's value there: sum_i score(x * M_i) M_i /
// (N p). Mask i: a cells x cells grid of cells kept with probability p, upsampled bilinearly to
// (cells + 1) x the cell size ceil(H / cells) (F.interpolate, align_corners=False), and cropped
// to H x W at a random shift within one cell; it masks every colour channel. Mask i draws, from
// createRng(deriveSeed(seed, RISE_STREAM, i)), its grid in row-major order (next() < p), then the
// vertical and the horizontal shift (int(0, cell size)). All rows share the masks, as in the
// paper; one forward pass per mask and row, batched across rows.
import { resizeBilinear } from "../../image/resize.ts";
import { resolveOptions, type OptionSpec } from "../../util/options.ts";
import { createRng, deriveSeed } from "../../util/random.ts";
import { checkInteger, WORK_LIMITS } from "../../util/validate.ts";
import type { AttributionMethod } from "../method.ts";

/** Options of RISE. */
export interface RiseOptions {
  /** Number of masks N. Default 1000. */
  masks?: number;
  /** Grid cells per side s. Default 8. */
  cells?: number;
  /** Probability p that a cell is kept. Default 0.5. */
  probability?: number;
}

/** RISE's options, declared once (validation, CLI flags, run configurations). */
export const RISE_OPTIONS: readonly OptionSpec[] = [
  {
    name: "masks",
    kind: "integer",
    default: 1000,
    min: 1,
    max: WORK_LIMITS.masks,
    help: `rise: number of random masks (1 to ${WORK_LIMITS.masks})`,
  },
  {
    name: "cells",
    kind: "integer",
    default: 8,
    min: 1,
    help: "rise: grid cells per side of a mask, at most the input's side",
  },
  {
    name: "probability",
    flag: "keep-probability",
    kind: "number",
    default: 0.5,
    above: 0,
    max: 1,
    placeholder: "p",
    help: "rise: probability that a mask cell is kept, above 0 and at most 1",
  },
];

/** "RISE" in ASCII: the seed path of the masks, apart from other methods' draws. */
export const RISE_STREAM = 0x52495345;

/** Mask `index` of the stream of `seed`, [height * width] in [0, 1]. */
export function riseMask(
  seed: number,
  index: number,
  cells: number,
  probability: number,
  height: number,
  width: number,
): Float32Array {
  const cellH = Math.ceil(height / cells);
  const cellW = Math.ceil(width / cells);
  const rng = createRng(deriveSeed(seed, RISE_STREAM, index));
  const grid = Float32Array.from({ length: cells * cells }, () =>
    rng.chance(probability) ? 1 : 0,
  );
  const dy = rng.int(0, cellH);
  const dx = rng.int(0, cellW);
  const upW = (cells + 1) * cellW;
  const up = resizeBilinear(grid, 1, cells, cells, (cells + 1) * cellH, upW);
  const mask = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    mask.set(up.subarray((y + dy) * upW + dx, (y + dy) * upW + dx + width), y * width);
  }
  return mask;
}

export function rise(options: RiseOptions = {}): AttributionMethod {
  const {
    masks: count,
    cells,
    probability,
  } = resolveOptions<Required<RiseOptions>>("RISE", RISE_OPTIONS, { ...options });
  return {
    name: "rise",
    title: "RISE",
    signed: false,
    reduction: "none",
    async attribute(run) {
      const { data: x, dims } = run.input;
      const [rows, channels, height, width] = dims as [number, number, number, number];
      // A cell is at least a pixel: more cells than pixels per side only cost memory.
      checkInteger(cells, `RISE cells (${height} x ${width} input)`, {
        min: 1,
        max: Math.min(height, width),
      });
      const area = height * width;
      const size = channels * area;
      // Items are mask-major, so each mask is drawn once for building and once for summing.
      let current = -1;
      let mask: Float32Array = new Float32Array(0);
      const maskOf = (i: number): Float32Array => {
        if (i !== current) {
          mask = riseMask(run.seed, i, cells, probability, height, width);
          current = i;
        }
        return mask;
      };
      const scores = await run.score(count * rows, (item, out) => {
        const r = item % rows;
        const m = maskOf(Math.floor(item / rows));
        for (let c = 0; c < channels; c++) {
          const o = r * size + c * area;
          for (let p = 0; p < area; p++) out[c * area + p] = x[o + p]! * m[p]!;
        }
        return r;
      });
      const sums = new Float64Array(rows * area);
      for (let i = 0; i < count; i++) {
        const m = maskOf(i);
        for (let r = 0; r < rows; r++) {
          const s = scores[i * rows + r]!;
          for (let p = 0; p < area; p++) sums[r * area + p]! += s * m[p]!;
        }
      }
      return { attribution: Float32Array.from(sums, (v) => v / (count * probability)) };
    },
  };
}
