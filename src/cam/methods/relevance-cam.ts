import { spatialSum } from "../../tensor/maps.ts";
import { layerDims, type WeightsMethod } from "../method.ts";

/**
 * Relevance-CAM (Lee et al. 2021): w_k = mean over positions of the LRP relevance of A_k, with
 * relevance propagated from the logits by the z+ rule (composite relevance-cam, contrastive
 * start; docs/lrp-rules.md). Relevance survives the intermediate layers where gradients shatter,
 * which is the method's point. The official code applies no ReLU to the map; that is the default
 * here too (`relu: true` gives the ReLU variant).
 */
export function relevanceCam(options: { relu?: boolean } = {}): WeightsMethod {
  return {
    name: "relevancecam",
    title: "Relevance-CAM",
    kind: "weights",
    needsGradients: false,
    needsRelevance: true,
    relu: options.relu ?? false,
    weights: ({ relevance }) => {
      const dims = layerDims(relevance!);
      const area = dims[2] * dims[3];
      return spatialSum(relevance!.data, dims).map((s) => s / area);
    },
  };
}
