import type { WeightsMethod } from "../method.ts";
import { spatialMean } from "../../tensor/maps.ts";

// Grad-CAM (Selvaraju et al. 2017): w_k = mean over positions of dy/dA_k.
export const gradCam: WeightsMethod = {
  name: "gradcam",
  title: "Grad-CAM",
  kind: "weights",
  needsGradients: true,
  weights: ({ gradients }) => spatialMean(gradients!.data, gradients!.dims),
};
