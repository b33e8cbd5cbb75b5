import type { PixelMethod } from "../method.ts";

// The CAMs that weight every position of every channel by its own gradient.

// HiResCAM (Draelos & Carin 2020): sum_k g_k * A_k.
export const hiResCam: PixelMethod = {
  name: "hirescam",
  title: "HiResCAM",
  kind: "pixel",
  needsGradients: true,
  weighted: ({ activations, gradients }) => activations.data.map((a, p) => a * gradients!.data[p]!),
};

// Grad-CAM element-wise: sum_k relu(g_k * A_k).
export const gradCamElementWise: PixelMethod = {
  name: "gradcam-elementwise",
  title: "Grad-CAM element-wise",
  kind: "pixel",
  needsGradients: true,
  weighted: ({ activations, gradients }) =>
    activations.data.map((a, p) => Math.max(0, a * gradients!.data[p]!)),
};

// LayerCAM (Jiang et al. 2021): sum_k relu(g_k) * A_k.
export const layerCam: PixelMethod = {
  name: "layercam",
  title: "LayerCAM",
  kind: "pixel",
  needsGradients: true,
  weighted: ({ activations, gradients }) =>
    activations.data.map((a, p) => Math.max(0, gradients!.data[p]!) * a),
};
