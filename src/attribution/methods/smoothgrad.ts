// SmoothGrad (Smilkov et al. 2017), SmoothGrad-squared and VarGrad (Adebayo et al. 2018): the
// mean, the mean square and the (population) variance of the gradients at `samples` noisy copies
// x + N(0, sigma^2) of each row's input, where sigma = noise * (max(x) - min(x)) over that input.
// Each is reduced over channels by the largest magnitude, like the saliency map they smooth.
// Copy s of row r draws its C*H*W normals, in order, from createRng(deriveSeed(seed, r, s)); the
// three methods share one batched pass when their samples and noise agree.
import { exactGradient } from "../../compiler/rules/index.ts";
import { resolveOptions, type OptionSpec } from "../../util/options.ts";
import { WORK_LIMITS } from "../../util/validate.ts";
import { createRng, deriveSeed } from "../../util/random.ts";
import type { AttributionMethod, AttributionRun } from "../method.ts";
import { sizeOf } from "../../tensor/tensor.ts";
import { reduceChannels } from "../../tensor/maps.ts";

/** Options of SmoothGrad, SmoothGrad-squared and VarGrad. */
export interface SmoothGradOptions {
  /** Noisy copies per row. Default 25. */
  samples?: number;
  /** Noise standard deviation as a fraction of the input's value range. Default 0.15. */
  noise?: number;
}

/** The options SmoothGrad, SmoothGrad-squared and VarGrad share, declared once. */
export const SMOOTHGRAD_OPTIONS: readonly OptionSpec[] = [
  {
    name: "samples",
    kind: "integer",
    default: 25,
    min: 1,
    max: WORK_LIMITS.samples,
    help: `smoothgrad, smoothgrad-sq, vargrad: noisy samples per image (1 to ${WORK_LIMITS.samples})`,
  },
  {
    name: "noise",
    kind: "number",
    default: 0.15,
    min: 0,
    max: WORK_LIMITS.noise,
    placeholder: "f",
    help: `smoothgrad, smoothgrad-sq, vargrad: noise sigma as a fraction of the input's value range (0 to ${WORK_LIMITS.noise})`,
  },
];

interface GradientMoments {
  mean: Float64Array;
  meanSquare: Float64Array;
}

/** Mean and mean square of the gradients at the noisy copies, [R, C, H, W]. */
function noisyGradientMoments(
  run: AttributionRun,
  samples: number,
  noise: number,
): Promise<GradientMoments> {
  return run.shared(`noisy-gradients:${samples}:${noise}`, async () => {
    const { data: x, dims } = run.input;
    const rows = dims[0]!;
    const size = sizeOf(dims.slice(1));
    const sigma = Array.from({ length: rows }, (_, r) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (let e = r * size; e < (r + 1) * size; e++) {
        lo = Math.min(lo, x[e]!);
        hi = Math.max(hi, x[e]!);
      }
      return noise * (hi - lo);
    });
    const mean = new Float64Array(rows * size);
    const meanSquare = new Float64Array(rows * size);
    await run.gradients(
      exactGradient,
      rows * samples,
      (item, out) => {
        const r = Math.floor(item / samples);
        const rng = createRng(deriveSeed(run.seed, r, item % samples));
        const s = sigma[r]!;
        for (let e = r * size, o = 0; o < size; e++, o++) out[o] = x[e]! + s * rng.normal();
        return r;
      },
      (item, grad) => {
        const offset = Math.floor(item / samples) * size;
        for (let e = 0; e < size; e++) {
          const g = grad[e]!;
          mean[offset + e]! += g / samples;
          meanSquare[offset + e]! += (g * g) / samples;
        }
      },
    );
    return { mean, meanSquare };
  });
}

function noisyMethod(
  name: string,
  title: string,
  options: SmoothGradOptions,
  statistic: (m: GradientMoments, e: number) => number,
): AttributionMethod {
  const { samples, noise } = resolveOptions<Required<SmoothGradOptions>>(
    title,
    SMOOTHGRAD_OPTIONS,
    { ...options },
  );
  return {
    name,
    title,
    signed: false,
    reduction: "max-abs",
    async attribute(run) {
      const moments = await noisyGradientMoments(run, samples, noise);
      const values = moments.mean.map((_, e) => statistic(moments, e));
      return { attribution: reduceChannels(values, run.input.dims, "max-abs") };
    },
  };
}

export const smoothGrad = (options: SmoothGradOptions = {}): AttributionMethod =>
  noisyMethod("smoothgrad", "SmoothGrad", options, (m, e) => m.mean[e]!);

export const smoothGradSquared = (options: SmoothGradOptions = {}): AttributionMethod =>
  noisyMethod("smoothgrad-sq", "SmoothGrad-squared", options, (m, e) => m.meanSquare[e]!);

export const varGrad = (options: SmoothGradOptions = {}): AttributionMethod =>
  noisyMethod("vargrad", "VarGrad", options, (m, e) =>
    Math.max(0, m.meanSquare[e]! - m.mean[e]! * m.mean[e]!),
  );
