import { layerDims, type WeightsMethod } from "../method.ts";
import { spatialSum } from "../../tensor/maps.ts";

// Grad-CAM (Selvaraju et al. 2017): w_k = mean over positions of dy/dA_k.
export const gradCam: WeightsMethod = {
  name: "gradcam",
  title: "Grad-CAM",
  kind: "weights",
  needsGradients: true,
  weights: ({ gradients }) => {
    const dims = layerDims(gradients!);
    const area = dims[2] * dims[3];
    return spatialSum(gradients!.data, dims).map((s) => s / area);
  },
};
