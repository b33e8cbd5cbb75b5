// The CAM pipeline shared by every CAM method: for rows whose targets are resolved, one batched
// run returns the target layers' activations (and their gradients, compiled into the graph, when
// a method needs them; or their LRP relevance for Relevance-CAM), each method weights the feature
// maps, and the maps go through ReLU, per-map min-max normalisation, bilinear upsampling to the
// model input and min-max normalisation again (finalCamMaps). Every run goes through the model
// runtime.
import { CamscopeError } from "../errors.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import { channelsFirst } from "../runtime/layer-view.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { BackwardResult } from "../runtime/backward.ts";
import type { RelevanceRun } from "../runtime/relevance.ts";
import type { Rows, TargetBatch } from "../runtime/targets.ts";
import { channelSum, finalCamMaps, firstComponentProjection, weightedSum } from "../tensor/maps.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { checkFiniteRows } from "../util/finite.ts";
import { checkArray, checkInteger, checkSeed, describe } from "../util/validate.ts";
import { layerDims, type CamMethod, type CamRun } from "./method.ts";

/** Options of {@link explainCam}. */
export interface CamOptions {
  /** The methods to run (see camMethods). */
  methods: readonly CamMethod[];
  /** Target layer names ("auto" for the model's default); several are fused. Default ["auto"]. */
  layers?: readonly string[];
  /**
   * Inputs per session run for perturbation methods. Default: chosen for the model by
   * {@link ModelRuntime.batchPlan} within `memoryBudgetMiB`.
   */
  batchSize?: number;
  /** Memory budget of one run for the default batch size, in MiB (see batch-size.ts). */
  memoryBudgetMiB?: number;
  /** Seed of every random draw. Default 0. */
  seed?: number;
  /**
   * Replace the channel sum by the first principal component of the weighted maps (methods that
   * weight channels or positions; the others build their maps their own way).
   */
  eigenSmooth?: boolean;
  /** Stops the work between methods and between perturbation chunks. */
  signal?: AbortSignal;
}

/** One CAM method's maps for every target row. */
export interface MethodMaps {
  /** The method. */
  method: CamMethod;
  /** Raw maps per layer at layer resolution, [N, h, w], before ReLU and normalisation. */
  raw: FloatTensor[];
  /** The final map at model-input resolution, [N, H, W], in [0, 1]. */
  map: FloatTensor;
  /** Forward passes per target spent on perturbed inputs (0 for gradient methods). */
  extraForwardPasses: number;
  /** Wall time the method took for the whole batch. */
  milliseconds: number;
}

/** What {@link explainCam} returns: the rows, the layers and every method's maps. */
export interface CamExplanation {
  /** The rows explained (resolved by the call when given pending). */
  rows: TargetBatch;
  /** Whether the call's first compiled run picked the targets (no target-picking pass). */
  oneRun: boolean;
  /** The layers explained (maps of several are fused). */
  layers: LayerInfo[];
  /** One entry per method, in the order given. */
  results: MethodMaps[];
  /**
   * Passes through the model per row that all methods of the call share: the forward pass that
   * picked the targets (unless `oneRun`), and the run that returns the activations (forward only, or forward and
   * backward when a method needs gradients), plus Relevance-CAM's relevance run (forward and
   * backward; it is the activation run too when no method needs gradients). Per-method
   * perturbation passes come on top.
   */
  sharedPasses: {
    /** Forward passes per row. */
    forward: number;
    /** Backward passes per row. */
    backward: number;
  };
}

/** Whether eigen smoothing applies to a method: it replaces a channel sum the method has. */
export function admitsEigenSmooth(method: CamMethod): boolean {
  return method.kind !== "map";
}

const CAM_KINDS = new Set(["map", "pixel", "weights"]);

/** CAM options checked (types and ranges), for callers in plain JavaScript too. */
export function checkCamOptions(options: unknown): CamOptions {
  if (options === null || typeof options !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `explain options must be an object, got ${describe(options)}`,
    );
  }
  const o = options as CamOptions;
  checkArray(o.methods, "methods").forEach((m, i) => {
    const kind = (m as Partial<CamMethod> | null)?.kind;
    if (!m || typeof m !== "object" || !CAM_KINDS.has(kind as string)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `methods[${i}] must be a CAM method object (from the method registry), got ${describe(m)}`,
      );
    }
  });
  checkLayerNames(o.layers);
  if (o.batchSize !== undefined) checkInteger(o.batchSize, "batchSize", { min: 1 });
  if (o.seed !== undefined) checkSeed(o.seed);
  return o;
}

/** Layer names, when given: a non-empty array of names ("auto" for the model's default). */
export function checkLayerNames(layers: unknown): void {
  if (layers === undefined) return;
  const list = checkArray(layers, "layers");
  if (list.length === 0 || !list.every((l) => typeof l === "string")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `layers must be a non-empty array of layer names ("auto" for the default), got ${describe(layers)}`,
    );
  }
}

/**
 * Explains rows with every method in `options.methods`: one run returns the activations (and
 * gradients or relevance if a method needs them), and perturbation methods batch their inputs
 * through the runtime. Pending rows (images and target options) are resolved by the gradient or
 * relevance run itself where the graph can pick the targets, else by a target-picking pass.
 */
export async function explainCam(
  rt: ModelRuntime,
  rows: Rows,
  options: CamOptions,
): Promise<CamExplanation> {
  checkCamOptions(options);
  const signal = options.signal;
  const layers = await Promise.all((options.layers ?? ["auto"]).map((l) => rt.layer(l)));
  const layerNames = [...new Set(layers.map((l) => l.name))];
  const { size: batchSize } = await rt.batchPlan(options);

  const needsGradients = options.methods.some((m) => m.needsGradients);
  const relevanceMethod = options.methods.find((m) => m.needsRelevance);
  // The first compiled run resolves pending rows; later runs take the resolved rows.
  let resolved: TargetBatch | undefined;
  let oneRun = false;
  let gradientRun: BackwardResult | undefined;
  if (needsGradients) {
    const run = await rt.gradientRows(rows, { wrt: layerNames });
    ({ rows: resolved, result: gradientRun, oneRun } = run);
  }
  let relevanceRun: RelevanceRun | undefined;
  if (relevanceMethod) {
    const request = {
      composite: relevanceMethod.relevanceComposite ?? "relevance-cam",
      start: "contrastive" as const,
      layers: layerNames,
      input: false,
    };
    const run = await rt.relevanceRows(resolved ?? rows, request);
    ({ rows: resolved, result: relevanceRun } = run);
    oneRun ||= run.oneRun;
  }
  let activations: Map<string, FloatTensor>;
  let gradients: Map<string, FloatTensor> | undefined;
  if (gradientRun) {
    activations = gradientRun.activations;
    gradients = gradientRun.grads;
  } else if (relevanceRun) {
    // The relevance run already returns the activations (BatchNorm unfolded: the same model).
    activations = new Map([...relevanceRun.layers].map(([name, r]) => [name, r.activations]));
  } else {
    // The activation run's logits pick the targets of pending rows.
    const run = await rt.activationRows(rows, layerNames);
    ({ rows: resolved, result: activations, oneRun } = run);
  }
  // Every branch above resolved the rows.
  const batch = resolved!;
  const { input, targets, scores } = batch;
  const relevance = relevanceRun
    ? new Map([...relevanceRun.layers].map(([name, r]) => [name, r.relevance]))
    : undefined;

  // NaN or Inf anywhere would end in a NaN map (or a min-max normalised one of zeros): the images
  // are named for the caller to report.
  const imageOf = (r: number) => targets.image[r]!;
  const rowCount = targets.classes.length;
  for (const [kind, values] of [
    ["activations", activations],
    ["gradients", gradients],
    ["relevance", relevance],
  ] as const) {
    for (const [name, t] of values ?? []) {
      checkFiniteRows(t.data, rowCount, `the ${kind} of layer "${name}"`, imageOf);
    }
  }

  // Each layer as [N, C, h, w] once, whatever its layout (tokens, channels-last grids).
  const views = new Map(
    layers.map((layer) => {
      const view = (t: FloatTensor | undefined) => (t ? channelsFirst(layer, t) : undefined);
      return [
        layer.name,
        {
          activations: view(activations.get(layer.name))!,
          gradients: view(gradients?.get(layer.name)),
          relevance: view(relevance?.get(layer.name)),
        },
      ];
    }),
  );
  const size = rt.input.dims.slice(2) as [number, number];
  const count = targets.classes.length;
  const results: MethodMaps[] = [];
  for (const method of options.methods) {
    signal?.throwIfAborted();
    const started = performance.now();
    let forwardPasses = 0;
    const raw: FloatTensor[] = [];
    for (const layer of layers) {
      const view = views.get(layer.name)!;
      const run: CamRun = {
        input,
        targets,
        layer,
        activations: view.activations,
        ...(view.gradients ? { gradients: view.gradients } : {}),
        ...(view.relevance ? { relevance: view.relevance } : {}),
        scores,
        seed: options.seed ?? 0,
        batchSize,
        scoreInputs: (inputs, perRow) => {
          signal?.throwIfAborted();
          forwardPasses += perRow;
          const batch = { data: inputs, dims: [count * perRow, ...input.dims.slice(1)] };
          const classes = targets.classes.flatMap((c) => new Array<number>(perRow).fill(c));
          return rt.scoreInputs(batch, classes, targets.score, batchSize);
        },
        scoreChannelMasks: (masks, perRow) => {
          signal?.throwIfAborted();
          forwardPasses += perRow;
          return rt.scoreChannelMasks(run, masks, perRow);
        },
      };
      const map = await rawMap(method, run, options.eigenSmooth ?? false);
      checkFiniteRows(map, count, `the ${method.name} map at layer "${layer.name}"`, imageOf);
      const [, , h, w] = layerDims(run.activations);
      raw.push({ data: map, dims: [count, h, w] });
    }
    results.push({
      method,
      raw,
      map: finalCamMaps(raw, method.relu ?? true, size),
      extraForwardPasses: forwardPasses,
      milliseconds: performance.now() - started,
    });
  }
  // The target-picking forward pass (none when the first run picked the targets), then
  // the activation pass (with the gradients' backward pass when a method needs them) and the
  // relevance pass (Relevance-CAM), each once per call; the relevance pass alone also serves as
  // the activation pass.
  const sharedPasses = {
    forward: (oneRun ? 0 : 1) + (needsGradients || !relevance ? 1 : 0) + (relevance ? 1 : 0),
    backward: (needsGradients ? 1 : 0) + (relevance ? 1 : 0),
  };
  return { rows: batch, oneRun, layers, results, sharedPasses };
}

/** One method's raw map [N, h, w] at one layer. */
async function rawMap(method: CamMethod, run: CamRun, eigenSmooth: boolean): Promise<Float32Array> {
  const dims = layerDims(run.activations);
  switch (method.kind) {
    case "map":
      return method.map(run);
    case "pixel": {
      const weighted = method.weighted(run);
      return eigenSmooth ? firstComponentProjection(weighted, dims) : channelSum(weighted, dims);
    }
    case "weights": {
      const weights = await method.weights(run);
      return eigenSmooth
        ? firstComponentProjection(channelWeighted(run.activations.data, weights, dims), dims)
        : weightedSum(run.activations.data, weights, dims);
    }
  }
}

/** w[n, k] * A[n, k] for every position: [N, K, h, w]. */
function channelWeighted(
  activations: Float32Array,
  weights: Float32Array,
  dims: readonly number[],
): Float32Array {
  const area = dims[2]! * dims[3]!;
  return activations.map((a, p) => a * weights[Math.floor(p / area)]!);
}
