// Integrated Gradients (Sundararajan et al. 2017): (x - x') * integral over a in [0, 1] of
// d score(x' + a (x - x')) / dx, by the midpoint rule with `steps` points a_k = (k + 1/2) / steps.
// All steps of all rows are gradients of one stream of inputs, batched across rows and steps.
// Completeness says the attributions sum to score(x) - score(x'); the gap of that sum, absolute and
// relative, is reported per row (one batched forward pass scores the baselines).
import { exactGradient } from "../../compiler/rules/index.ts";
import { checkFiniteRows } from "../../util/finite.ts";
import { resolveOptions, type OptionSpec } from "../../util/options.ts";
import { WORK_LIMITS } from "../../util/validate.ts";
import { BASELINE_KINDS, baselineInputs, type Baseline } from "../baselines.ts";
import type { AttributionMethod } from "../method.ts";
import { sizeOf } from "../../tensor/tensor.ts";
import { reduceChannels } from "../../tensor/maps.ts";

/** Options of Integrated Gradients. */
export interface IntegratedGradientsOptions {
  /** Points on the path from x' to x (midpoint rule). Default 64. */
  steps?: number;
  /** The baseline x'. Default "black". */
  baseline?: Baseline;
}

/** Integrated Gradients' options, declared once (validation, CLI flags, run configurations). */
export const IG_OPTIONS: readonly OptionSpec[] = [
  {
    name: "steps",
    kind: "integer",
    default: 64,
    min: 1,
    max: WORK_LIMITS.steps,
    help: `ig: integration steps (1 to ${WORK_LIMITS.steps})`,
  },
  {
    name: "baseline",
    kind: "choice",
    default: "black",
    choices: BASELINE_KINDS,
    tensor: true,
    placeholder: "kind",
    help: "ig: baseline: black (the preprocessed black image), blur, uniform (seeded noise), or a float32 .npy tensor [C,H,W] in model-input space",
  },
];

export function integratedGradients(options: IntegratedGradientsOptions = {}): AttributionMethod {
  const { steps, baseline } = resolveOptions<Required<IntegratedGradientsOptions>>(
    "Integrated Gradients",
    IG_OPTIONS,
    { ...options },
  );
  return {
    name: "ig",
    title: "Integrated Gradients",
    signed: true,
    reduction: "sum",
    async attribute(run) {
      const { data: x, dims } = run.input;
      const rows = dims[0]!;
      const size = sizeOf(dims.slice(1));
      const base = baselineInputs(baseline, run);
      const sums = new Float64Array(rows * size);
      await run.gradients(
        exactGradient,
        rows * steps,
        (item, out) => {
          const r = Math.floor(item / steps);
          const a = ((item % steps) + 0.5) / steps;
          for (let e = r * size, o = 0; o < size; e++, o++)
            out[o] = base[e]! + a * (x[e]! - base[e]!);
          return r;
        },
        (item, grad) => {
          const offset = Math.floor(item / steps) * size;
          for (let e = 0; e < size; e++) sums[offset + e]! += grad[e]!;
        },
      );
      const perChannel = new Float64Array(rows * size);
      for (let e = 0; e < perChannel.length; e++) {
        perChannel[e] = ((x[e]! - base[e]!) * sums[e]!) / steps;
      }
      const baselineScores = await run.score(rows, (r, out) => {
        out.set(base.subarray(r * size, (r + 1) * size));
        return r;
      });
      // f(x') must be defined: NaN or Inf there makes the completeness check meaningless.
      checkFiniteRows(
        baselineScores,
        rows,
        "the target scores of the Integrated Gradients baseline",
        (r) => run.targets.image[r]!,
      );
      const gap = new Float32Array(rows);
      const relativeGap = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        let total = 0;
        for (let e = r * size; e < (r + 1) * size; e++) total += perChannel[e]!;
        const difference = run.scores[r]! - baselineScores[r]!;
        gap[r] = total - difference;
        relativeGap[r] = difference !== 0 ? gap[r]! / Math.abs(difference) : gap[r]!;
      }
      return {
        attribution: reduceChannels(perChannel, dims, "sum"),
        completeness: { baselineScores, gap, relativeGap },
      };
    },
  };
}
