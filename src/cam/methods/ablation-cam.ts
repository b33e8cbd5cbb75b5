// Ablation-CAM (Desai & Ramaswamy 2020): a channel's weight is the relative drop of the target
// score when that channel of the layer is zeroed and the network continues from there:
// w_k = (y - y_k) / y, or y - y_k where y = 0. One forward pass per channel, run from the layer
// onwards where the graph allows it (see channel-masks.ts).
import { CamscopeError } from "../../errors.ts";
import { layerDims, type WeightsMethod } from "../method.ts";
import { scoreInChunks } from "../perturbation.ts";

export const ablationCam: WeightsMethod = {
  name: "ablationcam",
  title: "Ablation-CAM",
  kind: "weights",
  needsGradients: false,
  weights: async (run) => {
    const scoreChannelMasks = run.scoreChannelMasks;
    if (!scoreChannelMasks) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        "Ablation-CAM needs a run that can score channel masks",
      );
    }
    const [rows, channels] = layerDims(run.activations);
    // Item q of a row is the mask that zeroes channel q.
    const build = (_row: number, start: number, end: number, out: Float32Array): void => {
      out.fill(1);
      for (let q = start; q < end; q++) out[(q - start) * channels + q] = 0;
    };
    const ablated = await scoreInChunks(rows, channels, channels, build, (masks, perRow) =>
      scoreChannelMasks(masks, perRow),
    );
    const weights = new Float32Array(rows * channels);
    for (let i = 0; i < rows; i++) {
      const y = run.scores[i]!;
      for (let k = 0; k < channels; k++) {
        const drop = y - ablated[i * channels + k]!;
        weights[i * channels + k] = y === 0 ? drop : drop / y;
      }
    }
    return weights;
  },
};
