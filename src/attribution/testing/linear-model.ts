// A linear classifier built in code (Flatten -> Gemm), whose attributions have closed forms:
// the gradient of class k is the row W_k whatever the input, so Integrated Gradients is exactly
// (x - x') W_k and an occluded window changes the logit by W_k . (x - value) over the window.
import { buildModel } from "../../compiler/testing/graph.ts";
import type { Engine } from "../../engine/engine.ts";
import { ModelRuntime } from "../../runtime/runtime.ts";
import { createRng } from "../../util/random.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";

export interface LinearModel {
  ctx: ModelRuntime;
  /** [classes, C * H * W]. */
  weights: Float32Array;
  bias: Float32Array;
  dims: [number, number, number];
}

export function linearModel(
  engine: Engine,
  [channels, height, width]: [number, number, number],
  classes: number,
  { seed = 1, weightScale = 1 }: { seed?: number; weightScale?: number } = {},
): LinearModel {
  const size = channels * height * width;
  const rng = createRng(seed);
  const weights = Float32Array.from({ length: classes * size }, () => weightScale * rng.normal());
  const bias = Float32Array.from({ length: classes }, () => rng.normal());
  const model = buildModel({
    inputs: [{ name: "input", dims: [channels, height, width] }],
    constants: [
      { name: "W", dims: [classes, size], data: weights },
      { name: "b", dims: [classes], data: bias },
    ],
    nodes: [
      { op: "Flatten", inputs: ["input"], outputs: ["flat"] },
      { op: "Gemm", inputs: ["flat", "W", "b"], outputs: ["logits"], attrs: { transB: 1 } },
    ],
    outputs: ["logits"],
  });
  const ctx = new ModelRuntime(
    {
      model,
      card: {
        name: "linear",
        labels: Array.from({ length: classes }, (_, k) => `class${k}`),
        preprocessing: {
          size: [height, width],
          resize: "stretch",
          mean: [0.5, 0.5, 0.5],
          std: [0.25, 0.25, 0.25],
        },
      },
      bundled: false,
    },
    engine,
  );
  return { ctx, weights, bias, dims: [channels, height, width] };
}

/** n inputs of the given dims with normal values. */
export function randomInputs(n: number, dims: readonly number[], seed: number): FloatTensor {
  const rng = createRng(seed);
  const all = [n, ...dims];
  return {
    data: Float32Array.from({ length: all.reduce((a, b) => a * b) }, () => rng.normal()),
    dims: all,
  };
}
