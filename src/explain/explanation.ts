// What the explain service returns: the targets of a batch and, per method, its raw and final
// maps in one vocabulary whatever the family that made them.
import type { Completeness } from "../attribution/method.ts";
import type { MethodDescriptor, MethodOptions, PassCount } from "../methods/registry.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import type { BatchPlan } from "../runtime/batch-size.ts";
import type { Targets } from "../runtime/targets.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** The smoothing wrappers applied to a method's maps. */
export interface SmoothingApplied {
  /** Test-time augmentation. */
  augmentation: boolean;
  /** Eigen smoothing (first principal component instead of the channel sum). */
  eigen: boolean;
  /** Noise smoothing (mean over noisy copies). */
  noise: boolean;
}

/** One method's maps for every target row. */
export interface MethodResult {
  /** The method. */
  method: MethodDescriptor;
  /** Its display name with these options (e.g. "LRP (epsilon-plus)"). */
  title: string;
  /** Its options, every declared one present. */
  options: MethodOptions;
  /**
   * The raw maps: for a layer-level method one per layer at layer resolution, [R, h, w], before
   * ReLU and normalisation; for an input-level method the attribution, [R, H, W], in the score's
   * units.
   */
  raw: FloatTensor[];
  /** The final map at model-input resolution, [R, H, W]: in [-1, 1] if `signed`, else [0, 1]. */
  map: FloatTensor;
  /** Whether the final map takes both signs. */
  signed: boolean;
  /** This method's own passes per target, beyond the explanation's shared ones. */
  passes: PassCount;
  /** Integrated Gradients' completeness check (unsmoothed runs only). */
  completeness?: Completeness;
  /** The smoothing wrappers applied. */
  smoothing: SmoothingApplied;
  /** Wall time of the method on the whole batch; work shared by methods counts for the first. */
  milliseconds: number;
}

/** What the explain service returns for a batch. */
export interface Explanation {
  /** The (image, class) pair each row explains. */
  targets: Targets;
  /** Target score of each row on its (unsmoothed) input. */
  scores: Float32Array;
  /** The logits of each row's image. */
  logits: FloatTensor;
  /** The layers the layer-level methods explained (maps of several are fused); [] if none. */
  layers: LayerInfo[];
  /** One entry per method, in the order asked. */
  results: MethodResult[];
  /**
   * Passes per target that the methods of the call share: the forward pass that picked the
   * targets, the CAM family's activation, gradient or relevance run, and for smoothed methods
   * the scoring of each variant and those runs per variant.
   */
  sharedPasses: PassCount;
  /** Methods selected through "all" or "pixel" that do not apply to the layers, and why. */
  skipped: {
    /** The method's name. */
    method: string;
    /** Why it does not apply. */
    why: string;
  }[];
  /**
   * Inputs per session run of the methods that run many (steps, samples, masks, windows): the
   * request's batchSize, or the size chosen for the model, with its estimated memory.
   */
  batch: BatchPlan;
}
