// Occlusion (Zeiler & Fergus 2014): slide a window over the input, replace it (every channel) by
// a constant, and measure how much the target score drops: score(x) - score(x occluded). A
// pixel's attribution is the mean drop over the windows covering it. Windows start every
// `stride` pixels, plus one flush with the bottom / right edge when the stride does not land
// there, so every pixel is covered. One forward pass per window and row, batched across rows.
import { CamscopeError } from "../../errors.ts";
import { resolveOptions, type OptionSpec } from "../../util/options.ts";
import type { AttributionMethod } from "../method.ts";

/** Options of occlusion. */
export interface OcclusionOptions {
  /** Window height and width (one number: square). Default 16. */
  window?: number | readonly [number, number];
  /** Step between windows (one number: both axes). Default 8. */
  stride?: number | readonly [number, number];
  /** The value occluded pixels take in the model input (preprocessed) space. Default 0. */
  value?: number;
}

/** Occlusion's options, declared once (validation, CLI flags, run configurations). */
export const OCCLUSION_OPTIONS: readonly OptionSpec[] = [
  {
    name: "window",
    kind: "integer",
    default: 16,
    min: 1,
    pair: true,
    help: "occlusion: square window side in pixels",
  },
  {
    name: "stride",
    kind: "integer",
    default: 8,
    min: 1,
    pair: true,
    help: "occlusion: step between windows in pixels, at most the window",
  },
  {
    name: "value",
    flag: "occlusion-value",
    kind: "number",
    default: 0,
    placeholder: "v",
    help: "occlusion: value of occluded pixels in model-input space",
  },
];

/** Window starts along one axis of length `size`. */
export function windowStarts(size: number, window: number, stride: number): number[] {
  const w = Math.min(window, size);
  const starts: number[] = [];
  for (let s = 0; s + w <= size; s += stride) starts.push(s);
  if (starts[starts.length - 1]! + w < size) starts.push(size - w);
  return starts;
}

function pair(value: number | readonly [number, number]): [number, number] {
  return typeof value === "number" ? [value, value] : [value[0], value[1]];
}

/**
 * Why windows of `window` every `stride` leave some pixel of a `size`-pixel side uncovered, or
 * undefined when they cover it: a stride longer than the window skips the pixels in between
 * (a window as large as the side covers it whatever the stride).
 */
export function coverageProblem(size: number, window: number, stride: number): string | undefined {
  if (window >= size || stride <= window) return undefined;
  return `a stride of ${stride} is longer than the window of ${window}: pixels between windows would be covered by none (give a stride of at most the window)`;
}

export function occlusion(options: OcclusionOptions = {}): AttributionMethod {
  const resolved = resolveOptions<Required<OcclusionOptions>>("Occlusion", OCCLUSION_OPTIONS, {
    ...options,
  });
  const [windowH, windowW] = pair(resolved.window);
  const [strideH, strideW] = pair(resolved.stride);
  const value = resolved.value;
  return {
    name: "occlusion",
    title: "Occlusion",
    signed: true,
    reduction: "none",
    async attribute(run) {
      const { data: x, dims } = run.input;
      const [rows, channels, height, width] = dims as [number, number, number, number];
      for (const [side, w, s] of [
        [height, windowH, strideH],
        [width, windowW, strideW],
      ] as const) {
        const problem = coverageProblem(side, w, s);
        if (problem) {
          throw new CamscopeError("INVALID_ARGUMENT", `Occlusion window and stride: ${problem}`);
        }
      }
      const area = height * width;
      const size = channels * area;
      const ys = windowStarts(height, windowH, strideH);
      const xs = windowStarts(width, windowW, strideW);
      const [wh, ww] = [Math.min(windowH, height), Math.min(windowW, width)];
      const perRow = ys.length * xs.length;
      const windowAt = (item: number) => {
        const k = item % perRow;
        return { y0: ys[Math.floor(k / xs.length)]!, x0: xs[k % xs.length]! };
      };
      const scores = await run.score(rows * perRow, (item, out) => {
        const r = Math.floor(item / perRow);
        out.set(x.subarray(r * size, (r + 1) * size));
        const { y0, x0 } = windowAt(item);
        for (let c = 0; c < channels; c++) {
          for (let y = y0; y < y0 + wh; y++)
            out.fill(value, c * area + y * width + x0, c * area + y * width + x0 + ww);
        }
        return r;
      });
      const sums = new Float64Array(rows * area);
      const counts = new Uint32Array(area);
      for (let item = 0; item < rows * perRow; item++) {
        const r = Math.floor(item / perRow);
        const drop = run.scores[r]! - scores[item]!;
        const { y0, x0 } = windowAt(item);
        for (let y = y0; y < y0 + wh; y++) {
          for (let p = y * width + x0; p < y * width + x0 + ww; p++) {
            sums[r * area + p]! += drop;
            if (r === 0) counts[p]!++;
          }
        }
      }
      return { attribution: Float32Array.from(sums, (s, j) => s / counts[j % area]!) };
    },
  };
}
