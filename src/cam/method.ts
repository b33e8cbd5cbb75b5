// The CAM method interface. Methods differ only in how they weight the target layer's feature
// maps; the pipeline (pipeline.ts) does the rest: runs the model, applies ReLU, normalises and
// upsamples. A method is one of three kinds:
// - "weights": one weight per channel and image; the map is sum_k w_k A_k.
// - "pixel": a weight per channel and position; the map is sum_k W_k * A_k (element-wise).
// - "map": the map itself (Eigen-CAM, perturbation methods that build maps their own way).
import type { Composite } from "../compiler/lrp/composites.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import type { Targets } from "../runtime/targets.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** Everything a method may read or run for one target layer. */
export interface CamRun {
  /** The preprocessed inputs, one row per target (images repeated for top-k). */
  input: FloatTensor;
  /** The (image, class) pair of each row. */
  targets: Targets;
  /** The layer explained. */
  layer: LayerInfo;
  /** Activations A at the layer, [N, K, h, w]. */
  activations: FloatTensor;
  /** d score / d A, [N, K, h, w]; present when the method needs gradients. */
  gradients?: FloatTensor;
  /** Relevance at the layer, [N, K, h, w]; present when the method needs relevance (Relevance-CAM). */
  relevance?: FloatTensor;
  /** The target score of each row on its unperturbed input. */
  scores: Float32Array;
  /**
   * Target scores of perturbed inputs: `inputs` holds `perRow` inputs for each target row, in
   * row order; run in batches through the engine. Counts as forward passes.
   */
  scoreInputs(inputs: Float32Array, perRow: number): Promise<Float32Array>;
  /**
   * Target scores with the layer's channels scaled: `masks` holds `perRow` channel masks [K] for
   * each target row, in row order, and the network continues from A * mask (channel-masks.ts).
   * Counts as forward passes. Absent from runs that cannot run the network (built by hand).
   */
  scoreChannelMasks?(masks: Float32Array, perRow: number): Promise<Float32Array>;
  /** Seed for methods that draw random numbers. */
  seed: number;
  /** How many inputs a perturbation method sends per session run. */
  batchSize: number;
}

interface MethodBase {
  /** CLI name, e.g. "gradcam". */
  readonly name: string;
  /** Display name, e.g. "Grad-CAM". */
  readonly title: string;
  /** Whether the method reads d score / d A (CamRun.gradients). */
  readonly needsGradients: boolean;
  /** Whether the method reads LRP relevance at the layer (CamRun.relevance). */
  readonly needsRelevance?: boolean;
  /** The LRP composite of that relevance run (default: the named composite "relevance-cam"). */
  readonly relevanceComposite?: Composite;
  /** Whether the map goes through ReLU before normalisation (default true). */
  readonly relu?: boolean;
}

/** A CAM method that weights each channel of the layer: map = sum_k w_k A_k. */
export interface WeightsMethod extends MethodBase {
  /** The method's kind. */
  readonly kind: "weights";
  /** Channel weights [N, K]. */
  weights(run: CamRun): Float32Array | Promise<Float32Array>;
}

/** A CAM method that weights each channel at each position: map = sum_k W_k * A_k. */
export interface PixelMethod extends MethodBase {
  /** The method's kind. */
  readonly kind: "pixel";
  /** Weighted activations W * A, [N, K, h, w]. */
  weighted(run: CamRun): Float32Array;
}

/** A CAM method that builds its map its own way (Eigen-CAM, perturbation methods). */
export interface MapMethod extends MethodBase {
  /** The method's kind. */
  readonly kind: "map";
  /** Raw maps [N, h, w]. */
  map(run: CamRun): Float32Array | Promise<Float32Array>;
}

/** A class activation map method; {@link METHODS} lists every method. */
export type CamMethod = WeightsMethod | PixelMethod | MapMethod;

/** [N, K, h, w] dims of a layer tensor. */
export function layerDims(t: FloatTensor): [number, number, number, number] {
  return t.dims as [number, number, number, number];
}
