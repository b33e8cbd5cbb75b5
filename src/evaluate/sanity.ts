// The sanity check of `camscope evaluate` (Adebayo et al. 2018): each method's maps of a batch are
// made again on models whose layers are re-initialised from the top down
// (cascadingRandomization), explaining the same classes, and compared with the original maps. A
// method whose maps stay the same while the model is destroyed is not explaining the model.
// - Steps are counted in randomised layers: step k re-initialises the top k parameterised layers.
//   The cascade's models are opened once per run (a ModelRuntime and an Explainer each, sharing
//   the engine and the model card), and every step costs one more explain call per batch and
//   method.
// - Spearman rank correlation compares the signed maps before ReLU and normalisation (the raw
//   layer maps upsampled to the model input, each layer divided by its largest magnitude, layers
//   averaged), as they are and as absolute values: after ReLU the maps are non-negative, the two
//   would coincide, and every zeroed pixel would be a tie. SSIM compares the final maps, the ones
//   shown and scored by the other metrics.
import { Explainer } from "../explain/explainer.ts";
import { CamscopeError } from "../errors.ts";
import { resizeBilinear } from "../image/resize.ts";
import {
  averageRanks,
  cascadingRandomization,
  parameterLayers,
  rankCorrelation,
  ssim,
} from "../metrics/sanity.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** Cascade steps `camscope evaluate` computes unless told otherwise. */
export const DEFAULT_SANITY_STEPS = 4;

/** One model of the cascade, ready to explain. */
export interface CascadeStep {
  /** Parameterised layers re-initialised, counted from the output (0: none, a copy of the model). */
  layers: number;
  /** The deepest layer re-initialised (the model's source for step 0). */
  layer: string;
  explainer: Explainer;
}

/** A method's maps of a batch (the MethodMaps fields the sanity metric reads). */
export interface MapsOf {
  /** Raw maps per layer [N, h, w], before ReLU and normalisation. */
  raw: readonly FloatTensor[];
  /** Final maps [N, H, W]. */
  map: FloatTensor;
}

/** A method's maps of a batch on one cascade model. */
export interface CascadeMaps extends MapsOf {
  layers: number;
}

/**
 * `count` layer counts spread evenly over 1..total, always the first (only the classifier
 * re-initialised) and the last (every layer) when count >= 2; all of them when count >= total.
 */
export function spreadSteps(total: number, count: number): number[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--sanity-steps must be a positive integer, got ${count}`,
    );
  }
  if (count >= total) return Array.from({ length: total }, (_, i) => i + 1);
  if (count === 1) return [total];
  const steps = Array.from({ length: count }, (_, j) =>
    Math.round(1 + ((total - 1) * j) / (count - 1)),
  );
  return [...new Set(steps)];
}

/**
 * The cascade's models for the layer counts `steps` (0 allowed: an unchanged copy, opened as its
 * own model), each a ModelRuntime with ctx's engine and card and its own Explainer.
 */
export function openCascade(
  ctx: ModelRuntime,
  seed: number,
  steps: readonly number[],
): CascadeStep[] {
  const cascade = cascadingRandomization(ctx.model, seed);
  return steps.map((k) => {
    if (!Number.isInteger(k) || k < 0 || k > cascade.length) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Sanity step ${k} is out of range: model "${ctx.model.source}" has ${cascade.length} parameterised layers to randomise`,
      );
    }
    const model = k === 0 ? ctx.model.clone(`${ctx.model.source} (copy)`) : cascade[k - 1]!.model;
    const layer = k === 0 ? ctx.model.source : cascade[k - 1]!.layer;
    const step = ctx.derive(model);
    return { layers: k, layer, explainer: new Explainer(step) };
  });
}

/** Parameterised layers the cascade can randomise in ctx's model. */
export function cascadeLength(ctx: ModelRuntime): number {
  return parameterLayers(ctx.model).length;
}

/**
 * Signed maps [N, H, W] before ReLU and normalisation: every layer's raw map upsampled
 * bilinearly to the model input, divided per row by its largest magnitude, then averaged over
 * layers (so no layer dominates by scale, and signs are kept).
 */
export function signedMaps(
  raw: readonly FloatTensor[],
  height: number,
  width: number,
): Float32Array {
  const rows = raw[0]!.dims[0]!;
  const area = height * width;
  const out = new Float32Array(rows * area);
  for (const layer of raw) {
    const [, h, w] = layer.dims as [number, number, number];
    const up = resizeBilinear(layer.data, rows, h, w, height, width);
    for (let r = 0; r < rows; r++) {
      const row = up.subarray(r * area, (r + 1) * area);
      let peak = 0;
      for (const v of row) peak = Math.max(peak, Math.abs(v));
      const scale = peak > 0 ? 1 / (peak * raw.length) : 0;
      for (let p = 0; p < area; p++) out[r * area + p]! += row[p]! * scale;
    }
  }
  return out;
}

/** Per-image similarities to the original maps at each step, [N, steps] row-major. */
export interface SanityScores {
  spearman: Float32Array;
  absSpearman: Float32Array;
  ssim: Float32Array;
}

/**
 * Compares the original maps with each step's maps of the same rows: Spearman of the signed maps
 * and of their absolute values, SSIM of the final maps.
 */
export function sanityScores(original: MapsOf, steps: readonly MapsOf[]): SanityScores {
  const [rows, height, width] = original.map.dims as [number, number, number];
  const area = height * width;
  const n = steps.length;
  const out: SanityScores = {
    spearman: new Float32Array(rows * n),
    absSpearman: new Float32Array(rows * n),
    ssim: new Float32Array(rows * n),
  };
  const base = signedMaps(original.raw, height, width);
  const signed = steps.map((s) => signedMaps(s.raw, height, width));
  for (let r = 0; r < rows; r++) {
    const row = (data: Float32Array) => data.subarray(r * area, (r + 1) * area);
    // The original's ranks are shared by every step.
    const ranks = averageRanks(row(base));
    const absRanks = averageRanks(row(base).map(Math.abs));
    steps.forEach((step, s) => {
      const other = row(signed[s]!);
      out.spearman[r * n + s] = rankCorrelation(ranks, averageRanks(other));
      out.absSpearman[r * n + s] = rankCorrelation(absRanks, averageRanks(other.map(Math.abs)));
      out.ssim[r * n + s] = ssim(row(original.map.data), row(step.map.data), height, width);
    });
  }
  return out;
}
