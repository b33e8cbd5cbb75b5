import { layerDims, type MapMethod } from "../method.ts";
import { firstComponentProjection } from "../../tensor/maps.ts";

// Eigen-CAM (Muhammad & Yeasin 2020): the activations' first principal component, class-agnostic.
export const eigenCam: MapMethod = {
  name: "eigencam",
  title: "Eigen-CAM",
  kind: "map",
  needsGradients: false,
  map: ({ activations }) => firstComponentProjection(activations.data, layerDims(activations)),
};

// EigenGrad-CAM: the first principal component of gradient * activation.
export const eigenGradCam: MapMethod = {
  name: "eigengradcam",
  title: "EigenGrad-CAM",
  kind: "map",
  needsGradients: true,
  map: ({ activations, gradients }) =>
    firstComponentProjection(
      activations.data.map((a, p) => a * gradients!.data[p]!),
      layerDims(activations),
    ),
};
