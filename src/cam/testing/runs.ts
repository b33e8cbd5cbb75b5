// CamRuns for tests of the perturbation methods: a hand-built one whose target score is a plain
// function of the input (answers computable by hand), and the one the pipeline builds for a model;
// and the CAM pipeline on images whose targets the runtime resolves first.
import type { ModelRuntime } from "../../runtime/runtime.ts";
import type { TargetBatch, TargetOptions } from "../../runtime/targets.ts";
import { explainCam, type CamExplanation, type CamOptions } from "../pipeline.ts";
import type { CamRun, WeightsMethod } from "../method.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";

export interface FakeRun extends CamRun {
  /** Inputs scored per row so far (forward passes). */
  passes: number;
  /** perRow of each scoreInputs call. */
  calls: number[];
}

/** A run over `input` and `activations` whose target score of an input x [C, H, W] is score(x). */
export function fakeRun(
  input: FloatTensor,
  activations: FloatTensor,
  score: (x: Float32Array, row: number) => number,
  seed = 0,
): FakeRun {
  const rows = input.dims[0]!;
  const size = input.data.length / rows;
  const run: FakeRun = {
    input,
    targets: {
      image: [...Array(rows).keys()],
      classes: new Array<number>(rows).fill(0),
      score: "logit",
      binary: false,
    },
    layer: {
      name: "layer",
      op: "Relu",
      node: "",
      dims: [1, ...activations.dims.slice(1)],
      layout: "NCHW",
      valueDims: [1, ...activations.dims.slice(1)],
    },
    activations,
    scores: Float32Array.from({ length: rows }, (_, i) =>
      score(input.data.subarray(i * size, (i + 1) * size), i),
    ),
    seed,
    batchSize: 4,
    passes: 0,
    calls: [],
    async scoreInputs(inputs, perRow) {
      run.passes += perRow;
      run.calls.push(perRow);
      return Float32Array.from({ length: rows * perRow }, (_, j) =>
        score(inputs.subarray(j * size, (j + 1) * size), Math.floor(j / perRow)),
      );
    },
  };
  return run;
}

/** Options of {@link camExplain}: the pipeline's, and which targets the runtime resolves. */
export interface CamExplainOptions extends CamOptions {
  target?: TargetOptions;
}

/**
 * The CAM pipeline on images: targets resolved by its first compiled run where the graph can pick
 * them (else by a forward pass first), then explained.
 */
export async function camExplain(
  rt: ModelRuntime,
  images: FloatTensor,
  options: CamExplainOptions,
): Promise<TargetBatch & CamExplanation> {
  const pending = { pending: images, ...(options.target ? { target: options.target } : {}) };
  const out = await explainCam(rt, pending, options);
  return { ...out.rows, ...out };
}

/** The CamRun the pipeline builds for `images` (first layer of `options.layers`). */
export async function explainerRun(
  rt: ModelRuntime,
  images: FloatTensor,
  options: Omit<CamExplainOptions, "methods"> = {},
): Promise<CamRun> {
  let captured: CamRun | undefined;
  const capture: WeightsMethod = {
    name: "capture",
    title: "capture",
    kind: "weights",
    needsGradients: false,
    weights: (run) => {
      captured ??= run;
      return new Float32Array(run.activations.dims[0]! * run.activations.dims[1]!);
    },
  };
  await camExplain(rt, images, { ...options, methods: [capture] });
  return captured!;
}

/** n images of the model input's size with a smooth deterministic pattern. */
export function patternImages(dims: readonly number[], n: number, phase = 0): FloatTensor {
  const all = [n, ...dims.slice(1)];
  const data = new Float32Array(all.reduce((a, b) => a * b)).map(
    (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37 + phase),
  );
  return { data, dims: all };
}
