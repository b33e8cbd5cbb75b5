import { layerDims, type WeightsMethod } from "../method.ts";
import { spatialSum } from "../../tensor/maps.ts";

// Grad-CAM++ (Chattopadhay et al. 2018), with the exponential-score simplification:
// alpha_ij = g_ij^2 / (2 g_ij^2 + sum_ab A_ab g_ij^3) (0 where g = 0 or the denominator is 0),
// w_k = sum_ij alpha_ij relu(g_ij).
export const gradCamPlusPlus: WeightsMethod = {
  name: "gradcam++",
  title: "Grad-CAM++",
  kind: "weights",
  needsGradients: true,
  weights: ({ activations, gradients }) => {
    const dims = layerDims(activations);
    const [n, k, h, w] = dims;
    const area = h * w;
    const sums = spatialSum(activations.data, dims);
    const g = gradients!.data;
    const weights = new Float32Array(n * k);
    for (let j = 0; j < n * k; j++) {
      let wk = 0;
      for (let p = j * area; p < (j + 1) * area; p++) {
        const gi = g[p]!;
        if (gi <= 0) continue; // relu(g) = 0 there
        const g2 = gi * gi;
        const denominator = 2 * g2 + sums[j]! * g2 * gi;
        if (denominator !== 0) wk += (g2 / denominator) * gi;
      }
      weights[j] = wk;
    }
    return weights;
  },
};
