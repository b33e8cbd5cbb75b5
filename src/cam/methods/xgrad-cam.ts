import { layerDims, type WeightsMethod } from "../method.ts";
import { spatialSum } from "../../tensor/maps.ts";

// XGrad-CAM (Fu et al. 2020): w_k = sum_ij (A_ij / sum_ab A_ab) g_ij (0 where sum_ab A_ab = 0).
export const xgradCam: WeightsMethod = {
  name: "xgradcam",
  title: "XGrad-CAM",
  kind: "weights",
  needsGradients: true,
  weights: ({ activations, gradients }) => {
    const dims = layerDims(activations);
    const sums = spatialSum(activations.data, dims);
    const product = activations.data.map((a, p) => a * gradients!.data[p]!);
    return spatialSum(product, dims).map((s, j) => (sums[j] !== 0 ? s / sums[j]! : 0));
  },
};
