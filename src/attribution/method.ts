// The pixel-attribution method interface. A method turns the rows to explain (one preprocessed
// input and target class per row) into one value per input pixel, [R, H, W]; the pipeline
// (pipeline.ts) times the method and scales the map for display. Methods
// only describe what to evaluate: gradients and scores of many inputs go through `AttributionRun`,
// which builds them chunk by chunk and runs each chunk as one batched ONNX Runtime session run.
import type { RuleSet } from "../compiler/rule.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { Targets } from "../runtime/targets.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/**
 * Writes input `item` (C x H x W values) into `out` and returns the target row it belongs to (its
 * class picks the score that is differentiated or measured).
 */
export type FillInput = (item: number, out: Float32Array) => number;

/** Everything a method may read or run. */
export interface AttributionRun {
  /** The model explained. */
  runtime: ModelRuntime;
  /** The preprocessed inputs, one row per target (images repeated for top-k), [R, C, H, W]. */
  input: FloatTensor;
  /** The (image, class) pair of each row. */
  targets: Targets;
  /** The target score of each row on its input. */
  scores: Float32Array;
  /** Seed of every random draw. */
  seed: number;
  /** Inputs per session run. */
  batchSize: number;
  /**
   * d score / d input of `count` inputs built by `fill`, with the signal propagated by `ruleSet`
   * (exact gradient, guided backprop, deconvnet); `take(item, grad)` receives each input's signal
   * (a view, valid during the call). Counts as backward passes.
   */
  gradients(
    ruleSet: RuleSet,
    count: number,
    fill: FillInput,
    take: (item: number, grad: Float32Array) => void,
  ): Promise<void>;
  /** Target scores of `count` inputs built by `fill`. Counts as forward passes. */
  score(count: number, fill: FillInput): Promise<Float32Array>;
  /**
   * The signal of `ruleSet` at every row's own input, [R, C, H, W] (one backward pass per row,
   * shared by the methods of the call).
   */
  inputSignal(ruleSet: RuleSet): Promise<Float32Array>;
  /**
   * The Grad-CAM map of every row at input resolution, [R, H, W] in [0, 1]: ReLU, min-max and
   * bilinear upsampling of the gradient-weighted feature maps, as the CAM family makes it.
   */
  gradCam(): Promise<FloatTensor>;
  /**
   * A value shared by the methods of one explain call (e.g. the noisy gradients SmoothGrad,
   * SmoothGrad-squared and VarGrad all average), computed once per key.
   */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

/** Integrated Gradients' completeness check per row: sum(attribution) - (f(x) - f(x')). */
export interface Completeness {
  /** f(x'), the target score of each row's baseline. */
  baselineScores: Float32Array;
  /** sum(attribution) - (f(x) - f(x')). */
  gap: Float32Array;
  /** gap / |f(x) - f(x')| (gap itself where f(x) = f(x')). */
  relativeGap: Float32Array;
}

/** What a method's {@link AttributionMethod.attribute} returns. */
export interface AttributionResult {
  /** One value per input pixel, [R, H, W], in the score's units (channels reduced). */
  attribution: Float32Array;
  /** Integrated Gradients' completeness check. */
  completeness?: Completeness;
}

/** How a method's per-channel attribution [C, H, W] becomes one value per pixel. */
export type ChannelReduction = "sum" | "max-abs" | "none";

/** A pixel-attribution method; {@link METHODS} lists every method. */
export interface AttributionMethod {
  /** CLI name, e.g. "saliency". */
  readonly name: string;
  /** Display name, e.g. "Saliency". */
  readonly title: string;
  /** Whether maps take both signs (shown with a diverging colormap, scaled to [-1, 1]). */
  readonly signed: boolean;
  /** "none": the method scores whole pixels (occlusion, RISE). */
  readonly reduction: ChannelReduction;
  /**
   * The rule set of the method's one pass, when that is {@link AttributionRun.inputSignal}: run
   * first, that pass may also pick the rows' targets.
   */
  readonly signal?: RuleSet;
  /** Computes the attribution of every row of the run. */
  attribute(run: AttributionRun): Promise<AttributionResult>;
}
