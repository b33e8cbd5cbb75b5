// The methods of one backward pass per row, differing in how the signal is propagated through
// ReLU-like ops (the rule set) and in what is done with it:
// - Saliency (Simonyan et al. 2014): max over channels of |d score / d x|; unsigned.
// - Gradient: the signed gradient, summed over channels.
// - Gradient x Input (Shrikumar et al. 2016): x * d score / d x, summed over channels.
// - Guided Backprop (Springenberg et al. 2015) and Deconvnet (Zeiler & Fergus 2014): the signal
//   of those rule sets (src/compiler/rules/guided.ts), summed over channels.
// - Guided Grad-CAM (Selvaraju et al. 2017): guided backprop times the row's Grad-CAM map (the CAM
//   pipeline's final map: ReLU, min-max, bilinear upsampling to the input), summed over channels.
// Methods with the same rule set share one backward pass per explain call.
import { guidedBackprop, deconvnet } from "../../compiler/rules/guided.ts";
import { exactGradient } from "../../compiler/rules/index.ts";
import type { RuleSet } from "../../compiler/rule.ts";
import type { AttributionMethod, AttributionRun, ChannelReduction } from "../method.ts";
import { reduceChannels } from "../../tensor/maps.ts";

function signalMethod(
  name: string,
  title: string,
  ruleSet: RuleSet,
  reduction: Exclude<ChannelReduction, "none">,
  transform?: (signal: Float32Array, run: AttributionRun) => Promise<Float32Array>,
): AttributionMethod {
  return {
    name,
    title,
    signed: reduction === "sum",
    reduction,
    signal: ruleSet,
    async attribute(run) {
      const signal = await run.inputSignal(ruleSet);
      const values = transform ? await transform(signal, run) : signal;
      return { attribution: reduceChannels(values, run.input.dims, reduction) };
    },
  };
}

export const saliency = signalMethod("saliency", "Saliency", exactGradient, "max-abs");

export const gradient = signalMethod("gradient", "Gradient", exactGradient, "sum");

export const gradientXInput = signalMethod(
  "gradxinput",
  "Gradient x Input",
  exactGradient,
  "sum",
  async (signal, run) => signal.map((g, j) => g * run.input.data[j]!),
);

export const guidedBackpropMethod = signalMethod(
  "guidedbackprop",
  "Guided Backprop",
  guidedBackprop,
  "sum",
);

export const deconvnetMethod = signalMethod("deconvnet", "Deconvnet", deconvnet, "sum");

export const guidedGradCam = signalMethod(
  "guidedgradcam",
  "Guided Grad-CAM",
  guidedBackprop,
  "sum",
  async (signal, run) => {
    const cam = (await run.gradCam()).data;
    const [, channels, height, width] = run.input.dims as [number, number, number, number];
    const area = height * width;
    return signal.map((g, j) => {
      const r = Math.floor(j / (channels * area));
      return g * cam[r * area + (j % area)]!;
    });
  },
);
