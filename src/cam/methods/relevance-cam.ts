import { RELEVANCE_CAM_CONV_BIAS } from "../../compiler/lrp/composites.ts";
import { spatialMean } from "../../tensor/maps.ts";
import { resolveOptions, type OptionSpec } from "../../util/options.ts";
import type { WeightsMethod } from "../method.ts";

/**
 * Relevance-CAM (Lee et al. 2021): w_k = mean over positions of the LRP relevance of A_k, with
 * relevance propagated from the logits by the z+ rule (composite relevance-cam, contrastive
 * start; docs/lrp-rules.md). Relevance survives the intermediate layers where gradients shatter,
 * which is the method's point. The official code applies no ReLU to the map; that is the default
 * here too (`relu: true` gives the ReLU variant).
 */
/** Relevance-CAM's options, declared once (validation, CLI flags, run configurations). */
export const RELEVANCECAM_OPTIONS: readonly OptionSpec[] = [
  {
    name: "relu",
    flag: "relevancecam-relu",
    kind: "boolean",
    default: false,
    help: "relevancecam: ReLU the map before normalising it (the official code does not)",
  },
  {
    name: "convBias",
    flag: "relevancecam-conv-bias",
    kind: "boolean",
    default: false,
    help: "relevancecam: add each convolution's bias (twice) to the z+ denominators, as the official code does",
  },
];

/** Options of Relevance-CAM. */
export interface RelevanceCamOptions {
  /** Apply ReLU to the map before normalisation (default false, as the official code). */
  relu?: boolean;
  /**
   * Add each convolution's bias to the z+ denominators between the layer and the logits, once
   * with the W+x+ and once with the W-x- term, as the official code does (default false: the
   * bias-free rule of docs/lrp-rules.md, which conserves relevance). It changes maps only where
   * convolutions after the layer have biases (VGG, models exported with BatchNorm folded), not on
   * bias-free ResNets.
   */
  convBias?: boolean;
}

/** Relevance-CAM (Lee et al. 2021): channel weights from the LRP relevance at the layer. */
export function relevanceCam(options: RelevanceCamOptions = {}): WeightsMethod {
  const { relu, convBias } = resolveOptions<Required<RelevanceCamOptions>>(
    "Relevance-CAM",
    RELEVANCECAM_OPTIONS,
    { ...options },
  );
  return {
    name: "relevancecam",
    title: "Relevance-CAM",
    kind: "weights",
    needsGradients: false,
    needsRelevance: true,
    ...(convBias ? { relevanceComposite: RELEVANCE_CAM_CONV_BIAS } : {}),
    relu,
    weights: ({ relevance }) => spatialMean(relevance!.data, relevance!.dims),
  };
}
