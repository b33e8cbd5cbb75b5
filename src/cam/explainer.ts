// The CAM pipeline shared by every method: one forward pass picks the targets, one batched run
// returns the target layers' activations (and their gradients, compiled into the graph, when a
// method needs them), each method weights the feature maps, and the maps go through ReLU,
// per-map min-max normalisation and bilinear upsampling to the model input.
import type { FloatTensor } from "../compiler/backward-session.ts";
import { exactGradient } from "../compiler/rules/index.ts";
import { Tensor } from "../engine/engine.ts";
import { resizeBilinear } from "../image/resize.ts";
import type { ModelContext } from "../models/context.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import { OnnxModel } from "../onnx/model.ts";
import { withOutputs } from "../onnx/outputs.ts";
import { sizeOf } from "../onnx/tensor.ts";
import { propagatorFor } from "../lrp/relevance.ts";
import { CamscopeError } from "../errors.ts";
import { checkFiniteRows } from "../util/finite.ts";
import {
  checkArray,
  checkFloatTensor,
  checkInteger,
  checkSeed,
  describe,
} from "../util/validate.ts";
import { scoreChannelMasks } from "./channel-masks.ts";
import { channelsFirst } from "./layer-view.ts";
import { scoreBackward } from "./score-backward.ts";
import {
  channelSum,
  firstComponentProjection,
  normalizeInPlace,
  reluInPlace,
  weightedSum,
} from "./maps.ts";
import { layerDims, type CamMethod, type CamRun } from "./method.ts";
import {
  gatherRows,
  resolveTargets,
  seedRows,
  targetScores,
  type TargetOptions,
  type Targets,
} from "./targets.ts";

/** Options of {@link CamExplainer.explain}. */
export interface ExplainOptions {
  /** The methods to run, e.g. `resolveMethods(ctx.model, ["gradcam", "scorecam"])`. */
  methods: readonly CamMethod[];
  /** Target layer names ("auto" for the model's default); several are fused. Default ["auto"]. */
  layers?: readonly string[];
  /** Which classes to explain; default each image's top class. */
  target?: TargetOptions;
  /** Inputs per session run for perturbation methods. Default 32. */
  batchSize?: number;
  /** Seed of every random draw. Default 0. */
  seed?: number;
  /** Replace the channel sum by the first principal component of the weighted maps. */
  eigenSmooth?: boolean;
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

/** What {@link CamExplainer.explain} returns: the targets and every method's maps. */
export interface Explanation {
  /** The (image, class) pair each row explains. */
  targets: Targets;
  /** Target score of each row on the unperturbed input. */
  scores: Float32Array;
  /** The logits of each row's image. */
  logits: FloatTensor;
  /** The layers explained (maps of several are fused). */
  layers: LayerInfo[];
  /** One entry per method, in the order given. */
  results: MethodMaps[];
  /**
   * Passes through the model per row that all methods of the call share: the forward pass that
   * picks the targets, and the run that returns the activations (forward only, or forward and
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

const CAM_KINDS = new Set(["map", "pixel", "weights"]);

/** Explain options checked (types and ranges); `target` is checked when targets are resolved. */
export function checkExplainOptions(options: unknown): ExplainOptions {
  if (options === null || typeof options !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `explain options must be an object, got ${describe(options)}`,
    );
  }
  const o = options as ExplainOptions;
  const methods = checkArray(o.methods, "methods");
  methods.forEach((m, i) => {
    const kind = (m as Partial<CamMethod> | null)?.kind;
    if (!m || typeof m !== "object" || !CAM_KINDS.has(kind as string)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `methods[${i}] must be a CAM method object (from resolveMethods), got ${describe(m)}`,
      );
    }
  });
  if (o.layers !== undefined) {
    const layers = checkArray(o.layers, "layers");
    if (layers.length === 0 || !layers.every((l) => typeof l === "string")) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `layers must be a non-empty array of layer names ("auto" for the default), got ${describe(o.layers)}`,
      );
    }
  }
  if (o.batchSize !== undefined) checkInteger(o.batchSize, "batchSize", { min: 1 });
  if (o.seed !== undefined) checkSeed(o.seed);
  return o;
}

/**
 * The images checked against the model's input: a float32 tensor [N, ...input dims], finite
 * (rows with NaN or Inf are named).
 */
export function checkImages(ctx: ModelContext, images: unknown): FloatTensor {
  const t = checkFloatTensor(images, "images");
  const want = ctx.input.dims.slice(1);
  if (t.dims.length !== want.length + 1 || want.some((d, i) => t.dims[i + 1] !== d)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `images must be [N, ${want.join(", ")}] for input "${ctx.input.name}" of model "${ctx.model.source}", got [${t.dims.join(", ")}]`,
    );
  }
  checkFiniteRows(t.data, t.dims[0]!, "the input images");
  return t;
}

/**
 * Computes class activation maps: every CAM method of {@link camMethods} on a batch, sharing the
 * forward and backward passes the methods have in common.
 */
export class CamExplainer {
  /** The model explained. */
  readonly ctx: ModelContext;
  private exposedModel: OnnxModel | undefined;
  private exposedKey = "";

  constructor(ctx: ModelContext) {
    this.ctx = ctx;
  }

  private units(shapes: ReadonlyMap<string, number[]>): number {
    return sizeOf(shapes.get(this.ctx.output)!.slice(1));
  }

  /** Logits of a batch (one chunked forward run); images whose logits hold NaN or Inf throw a
   *  NonFiniteError naming them. */
  async logits(input: FloatTensor): Promise<Float32Array> {
    checkImages(this.ctx, input);
    const session = await this.ctx.session();
    const out = await session.runBatched(
      { [this.ctx.input.name]: new Tensor("float32", input.data, input.dims) },
      [this.ctx.output],
    );
    const logits = out[this.ctx.output]!.data as Float32Array;
    checkFiniteRows(logits, input.dims[0]!, `the logits of model "${this.ctx.model.source}"`);
    return logits;
  }

  /** Activations of `layers` (and logits) without gradients. */
  private async forwardActivations(
    input: FloatTensor,
    layers: readonly string[],
  ): Promise<Map<string, FloatTensor>> {
    const key = layers.join("\n");
    if (!this.exposedModel || this.exposedKey !== key) {
      this.exposedModel = withOutputs(this.ctx.model, layers);
      this.exposedKey = key;
    }
    const session = await this.ctx.engine.session(
      this.exposedModel,
      `activations:${this.ctx.model.source}:${key}`,
    );
    const out = await session.runBatched(
      { [this.ctx.input.name]: new Tensor("float32", input.data, input.dims) },
      layers,
    );
    return new Map(
      layers.map((l) => [l, { data: out[l]!.data as Float32Array, dims: [...out[l]!.dims] }]),
    );
  }

  /**
   * Relevance at `layers` by Relevance-CAM's propagation (composite relevance-cam, contrastive
   * start), with the layers' activations that the same run returns.
   */
  private async relevance(
    input: FloatTensor,
    targets: Targets,
    layers: readonly string[],
  ): Promise<{ relevance: Map<string, FloatTensor>; activations: Map<string, FloatTensor> }> {
    const result = await propagatorFor(this.ctx).propagate(input, targets, {
      composite: "relevance-cam",
      start: "contrastive",
      layers,
      input: false,
    });
    const entries = [...result.layers];
    return {
      relevance: new Map(entries.map(([name, r]) => [name, r.relevance])),
      activations: new Map(entries.map(([name, r]) => [name, r.activations])),
    };
  }

  /**
   * Explains a preprocessed batch ([N, C, H, W] as the model takes it) with every method in
   * `options.methods`: one forward pass picks the targets, one run returns the activations (and
   * gradients if a method needs them), and perturbation methods batch their inputs.
   */
  async explain(images: FloatTensor, options: ExplainOptions): Promise<Explanation> {
    checkExplainOptions(options);
    const shapes = await this.ctx.shapes();
    const units = this.units(shapes);
    const layers = await Promise.all((options.layers ?? ["auto"]).map((l) => this.ctx.layer(l)));
    const layerNames = [...new Set(layers.map((l) => l.name))];
    const imageLogits = await this.logits(images);
    const targets = resolveTargets(imageLogits, images.dims[0]!, options.target);
    const input = gatherRows(images, targets.image);
    const logits = gatherRows({ data: imageLogits, dims: [images.dims[0]!, units] }, targets.image);
    const scores = targetScores(logits.data, units, targets.classes, targets.score);

    const needsGradients = options.methods.some((m) => m.needsGradients);
    const relevanceRun = options.methods.some((m) => m.needsRelevance)
      ? await this.relevance(input, targets, layerNames)
      : undefined;
    const relevance = relevanceRun?.relevance;
    let activations: Map<string, FloatTensor>;
    let gradients: Map<string, FloatTensor> | undefined;
    if (needsGradients) {
      const { backward, output } = await scoreBackward(this.ctx, targets.score, targets.binary);
      const result = await backward.run(
        { wrt: layerNames, output, ruleSet: exactGradient },
        input,
        seedRows(targets, units),
      );
      activations = result.activations;
      gradients = result.grads;
    } else {
      // The relevance run already returns the activations (BatchNorm unfolded: the same model).
      activations = relevanceRun?.activations ?? (await this.forwardActivations(input, layerNames));
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
    const rows = targets.classes.length;
    const imageOf = (r: number) => targets.image[r]!;
    for (const [kind, values] of [
      ["activations", activations],
      ["gradients", gradients],
      ["relevance", relevance],
    ] as const) {
      for (const [name, t] of values ?? []) {
        checkFiniteRows(t.data, rows, `the ${kind} of layer "${name}"`, imageOf);
      }
    }
    const [height, width] = this.ctx.input.dims.slice(2) as [number, number];
    const results: MethodMaps[] = [];
    for (const method of options.methods) {
      const started = performance.now();
      let forwardPasses = 0;
      const raw: FloatTensor[] = [];
      const upsampled: Float32Array[] = [];
      for (const layer of layers) {
        const run: CamRun = {
          input,
          targets,
          layer,
          activations: views.get(layer.name)!.activations,
          ...(gradients ? { gradients: views.get(layer.name)!.gradients! } : {}),
          ...(relevance ? { relevance: views.get(layer.name)!.relevance! } : {}),
          scores,
          seed: options.seed ?? 0,
          batchSize: options.batchSize ?? 32,
          scoreInputs: async (inputs, perRow) => {
            forwardPasses += perRow;
            const batch = { data: inputs, dims: [rows * perRow, ...input.dims.slice(1)] };
            const classes = targets.classes.flatMap((c) => new Array<number>(perRow).fill(c));
            const session = await this.ctx.session();
            const out = await session.runBatched(
              { [this.ctx.input.name]: new Tensor("float32", batch.data, batch.dims) },
              [this.ctx.output],
              options.batchSize ?? 32,
            );
            return targetScores(
              out[this.ctx.output]!.data as Float32Array,
              units,
              classes,
              targets.score,
            );
          },
          scoreChannelMasks: (masks, perRow) => {
            forwardPasses += perRow;
            return scoreChannelMasks(this.ctx, run, masks, perRow);
          },
        };
        const map = await rawMap(method, run, options.eigenSmooth ?? false);
        checkFiniteRows(map, rows, `the ${method.name} map at layer "${layer.name}"`, imageOf);
        const [, , h, w] = layerDims(run.activations);
        raw.push({ data: map, dims: [rows, h, w] });
        const post = Float32Array.from(map);
        if (method.relu ?? true) reluInPlace(post);
        normalizeInPlace(post, rows);
        upsampled.push(resizeBilinear(post, rows, h, w, height, width));
      }
      const fused = upsampled.length === 1 ? upsampled[0]! : fuseLayers(upsampled, rows);
      results.push({
        method,
        raw,
        map: { data: fused, dims: [rows, height, width] },
        extraForwardPasses: forwardPasses,
        milliseconds: performance.now() - started,
      });
    }
    // The target-picking forward pass, then the activation pass (with the gradients' backward pass
    // when a method needs them) and the relevance pass (Relevance-CAM), each once per call; the
    // relevance pass alone also serves as the activation pass.
    const sharedPasses = {
      forward: 1 + (needsGradients || !relevance ? 1 : 0) + (relevance ? 1 : 0),
      backward: (needsGradients ? 1 : 0) + (relevance ? 1 : 0),
    };
    return { targets, scores, logits, layers, results, sharedPasses };
  }
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

/** Maps of several layers (each normalised, at input size): their mean, normalised again. */
function fuseLayers(maps: readonly Float32Array[], rows: number): Float32Array {
  const out = new Float32Array(maps[0]!.length);
  for (const m of maps) for (let j = 0; j < out.length; j++) out[j]! += m[j]! / maps.length;
  return normalizeInPlace(out, rows);
}
