// The model runtime: one object per loaded model that every method, metric and command goes
// through. It owns the model's forward runs, target resolution and scores (one implementation
// each, in targets.ts), the compiled gradient and relevance sessions, the channel-mask sessions,
// and every model derived from the loaded one, cached on the object itself (cache.ts).
import type { Composite } from "../compiler/lrp/composites.ts";
import { foldBatchNorm } from "../compiler/lrp/canonize.ts";
import { lrpRuleSet, resolveComposite } from "../compiler/lrp/composites.ts";
import type { BackwardSpec } from "../compiler/compile.ts";
import type { RuleSet } from "../compiler/rule.ts";
import { exactGradient } from "../compiler/rules/index.ts";
import { Tensor, type Engine, type ModelSession } from "../engine/engine.ts";
import { inferShapes } from "../engine/probe.ts";
import { CamscopeError } from "../errors.ts";
import { specInputDims, type ModelCard } from "../models/card.ts";
import type { IntakeReport } from "../models/intake/index.ts";
import { listLayers, resolveLayer, type LayerInfo } from "../onnx/layers.ts";
import { valueInfoDims, type OnnxModel } from "../onnx/model.ts";
import { withOutputs } from "../onnx/outputs.ts";
import { DataType } from "../onnx/proto.ts";
import { resolveInput, type ModelInput } from "../onnx/shapes.ts";
import { ValueShapes } from "../onnx/value-shapes.ts";
import { gatherRows, sizeOf, type FloatTensor } from "../tensor/tensor.ts";
import { checkFiniteRows } from "../util/finite.ts";
import { checkFloatTensor } from "../util/validate.ts";
import { Backward, type BackwardResult } from "./backward.ts";
import {
  activationBytesPerInput,
  planBatch,
  type BatchPlan,
  type BatchPlanOptions,
} from "./batch-size.ts";
import { DerivedCache, derivedKey } from "./cache.ts";
import {
  extractTail,
  injectChannelMask,
  scoreChannelMasks,
  type ChannelMaskPlan,
  type ChannelMaskRun,
  type ChannelMaskStrategy,
} from "./channel-masks.ts";
import { startingRelevance, type RelevanceRequest, type RelevanceRun } from "./relevance.ts";
import { SEED_HEAD_MIN_OPSET } from "./seed-head.ts";
import {
  isPending,
  presetClasses,
  resolveTargets,
  seedRows,
  targetScores,
  type PendingRows,
  type Rows,
  type ScoreKind,
  type TargetBatch,
  type TargetOptions,
  type Targets,
} from "./targets.ts";

/** A model to open: after intake (loadModel), or an in-memory model already in canonical form. */
export interface ModelSource {
  /** The model (canonical: after intake). */
  model: OnnxModel;
  /** Its card: labels, preprocessing, default layer. */
  card: ModelCard;
  /** Whether it is a bundled model. */
  bundled: boolean;
  /** Set by loadModel; a model given without it must already be canonical (see intake). */
  intake?: IntakeReport;
  /** The image input (default: the model's only input). */
  input?: string;
  /** The logits output (default: the card's, else the first output). */
  output?: string;
}

/** What {@link ModelRuntime.forward} returns. */
export interface ForwardResult {
  /** The logits, [N, units]. */
  logits: FloatTensor;
  /** The requested layers' values, [N, ...], by layer name. */
  activations: Map<string, FloatTensor>;
}

/** Options of {@link ModelRuntime.gradients}. */
export interface GradientRequest {
  /** The values to differentiate with respect to (the input's name, layer names). */
  wrt: readonly string[];
  /** How the signal passes each op (default: the exact gradient). */
  ruleSet?: RuleSet;
}

/**
 * Resolved rows and a run at their input: what {@link ModelRuntime.gradientRows},
 * {@link ModelRuntime.relevanceRows} and {@link ModelRuntime.activationRows} return.
 */
export interface RowsRun<R> {
  /** The rows, resolved. */
  rows: TargetBatch;
  /** The run at the rows' input. */
  result: R;
  /** Whether the run itself picked the targets (no separate target-picking forward pass). */
  oneRun: boolean;
}

/** The output the compiled backward graph of a score kind starts from. */
const PROBABILITIES = "camscope/probabilities";

/**
 * A loaded model ready to explain: the resolved input, the logits output, intermediate shapes (one
 * probe run, done on first use), the spatial layers and the default one, and every run camscope
 * makes of it. {@link openModel} makes one from a file; `new ModelRuntime(source, engine)` from a
 * model already taken in.
 */
export class ModelRuntime {
  /** The model's graph. */
  readonly model: OnnxModel;
  /** Its card: labels, preprocessing, default layer. */
  readonly card: ModelCard;
  /** The engine that runs it. */
  readonly engine: Engine;
  /** What intake found in the model as exported and changed. */
  readonly intake: IntakeReport;
  /** The image input with concrete dims, batch 1, NCHW. */
  readonly input: ModelInput;
  /** The [N, C] logits output. */
  readonly output: string;
  private readonly cache = new DerivedCache();

  constructor(loaded: ModelSource, engine: Engine) {
    const { model, card } = loaded;
    this.model = model;
    this.card = card;
    this.engine = engine;
    this.input = resolveInput(model, card.preprocessing.size);
    checkPreprocessingFits(model, card, this.input);
    const outputs = model.outputs().map((o) => o.name);
    this.output = loaded.output ?? card.output ?? outputs[0]!;
    if (!outputs.includes(this.output)) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Model card of "${model.source}" names output "${this.output}", but the model's outputs are: ${outputs.join(", ")}`,
      );
    }
    this.intake = loaded.intake ?? canonicalReport(model, this.output);
  }

  /** A runtime for another model of the same form (e.g. with randomised weights), same card. */
  derive(model: OnnxModel): ModelRuntime {
    return new ModelRuntime(
      { model, card: this.card, bundled: false, intake: this.intake, output: this.output },
      this.engine,
    );
  }

  /** The cached session of the model. */
  session(): Promise<ModelSession> {
    return this.engine.session(this.model);
  }

  /** Dims (batch 1) of the input and every float value, from one probe run. */
  shapes(): Promise<ValueShapes> {
    return this.cache.get(derivedKey("shapes"), () =>
      inferShapes(this.model, this.engine, this.input),
    );
  }

  /**
   * Inputs per session run for methods that run many (steps, samples, masks, windows): the given
   * `batchSize`, else the largest chunk whose estimated memory fits the budget, from the forward
   * values' sizes per input (see batch-size.ts).
   */
  async batchPlan(options: BatchPlanOptions = {}): Promise<BatchPlan> {
    const bytes = await this.cache.get(derivedKey("activation-bytes"), async () =>
      activationBytesPerInput(await this.shapes()),
    );
    return planBatch(bytes, options);
  }

  /** Every spatial (4-D) activation in graph order. */
  layers(): Promise<LayerInfo[]> {
    return this.cache.get(derivedKey("layers"), async () =>
      listLayers(this.model, await this.shapes(), this.input.name),
    );
  }

  /** The card's default layer if it names one, else the graph heuristic's (see defaultLayer). */
  async defaultLayer(): Promise<LayerInfo> {
    const layers = await this.layers();
    const named = this.card.defaultLayer;
    if (named === undefined) return resolveLayer(this.model, layers, "auto");
    const layer = layers.find((l) => l.name === named);
    if (!layer) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Model card of "${this.model.source}" names default layer "${named}", which is not a spatial layer of the model`,
      );
    }
    return layer;
  }

  /** A layer by value name, or the default for "auto"; unknown names list close matches. */
  async layer(name = "auto"): Promise<LayerInfo> {
    return name === "auto"
      ? this.defaultLayer()
      : resolveLayer(this.model, await this.layers(), name);
  }

  /** The class name of output index `i` (`class_<i>` past the card's labels). */
  label(i: number): string {
    return this.card.labels[i] ?? `class_${i}`;
  }

  /** Logits per row (the product of the output's dims after the batch). */
  async units(): Promise<number> {
    return sizeOf((await this.shapes()).get(this.output)!.slice(1));
  }

  /**
   * The one forward run: the logits of a batch, and the values of `layers` when asked (the model
   * with those values as extra outputs is derived once per layer list). Runs in chunks of
   * `batchSize` (default the engine's).
   */
  async forward(
    input: FloatTensor,
    options: { layers?: readonly string[]; batchSize?: number } = {},
  ): Promise<ForwardResult> {
    const layers = [...new Set(options.layers ?? [])];
    const session = await (layers.length === 0
      ? this.session()
      : this.cache.get(derivedKey("outputs", layers), () =>
          this.engine.session(withOutputs(this.model, layers)),
        ));
    const out = await session.runBatched(
      { [this.input.name]: new Tensor("float32", input.data, input.dims) },
      [this.output, ...layers],
      options.batchSize,
    );
    const float = (name: string): FloatTensor => ({
      data: out[name]!.data as Float32Array,
      dims: [...out[name]!.dims],
    });
    return { logits: float(this.output), activations: new Map(layers.map((l) => [l, float(l)])) };
  }

  /**
   * The rows to explain for a batch of images: one forward pass resolves the targets (see
   * {@link resolveTargets}), and each row gets its image, logits and target score.
   */
  async targets(images: FloatTensor, options: TargetOptions = {}): Promise<TargetBatch> {
    this.checkImages(images);
    const { logits } = await this.forward(images);
    return this.targetBatch(images, logits, options);
  }

  /** The rows of checked images given their logits: targets resolved, rows gathered, scored. */
  private targetBatch(
    images: FloatTensor,
    logits: FloatTensor,
    options: TargetOptions | undefined,
  ): TargetBatch {
    const n = images.dims[0]!;
    // NaN or Inf logits would give NaN maps: the images are named for the caller to report.
    checkFiniteRows(logits.data, n, `the logits of model "${this.model.source}"`);
    const targets = resolveTargets(logits.data, n, options);
    const rows = gatherRows(logits, targets.image);
    return {
      images: n,
      targets,
      input: gatherRows(images, targets.image),
      logits: rows,
      scores: this.scores(rows, targets.classes, targets.score),
    };
  }

  /**
   * The layers' activations at the rows' input ({@link ModelRuntime.forward}); pending rows are
   * resolved from the logits of the same run, whatever their target options (top-k rows repeat
   * their image's activations).
   */
  async activationRows(
    rows: Rows,
    layers: readonly string[],
  ): Promise<RowsRun<Map<string, FloatTensor>>> {
    if (!isPending(rows)) {
      const { activations } = await this.forward(rows.input, { layers });
      return { rows, result: activations, oneRun: false };
    }
    const images = this.checkImages(rows.pending);
    const { logits, activations } = await this.forward(images, { layers });
    const resolved = this.targetBatch(images, logits, rows.target);
    const image = resolved.targets.image;
    const result = new Map([...activations].map(([l, t]) => [l, gatherRows(t, image)]));
    return { rows: resolved, result, oneRun: true };
  }

  /** Resolved rows as they are; pending rows resolved by {@link ModelRuntime.targets}. */
  resolveRows(rows: Rows): Promise<TargetBatch> {
    return isPending(rows) ? this.targets(rows.pending, rows.target) : Promise.resolve(rows);
  }

  /**
   * {@link ModelRuntime.gradients} at the rows' input. Pending rows whose classes are top-1 or
   * given are resolved by the same session run: the compiled graph picks each row's class from its
   * own logits (seed-head.ts). Top-k rows take a target-picking forward pass first.
   */
  async gradientRows(rows: Rows, request: GradientRequest): Promise<RowsRun<BackwardResult>> {
    if (isPending(rows)) {
      const score = rows.target?.score ?? "logit";
      const decided = await this.choosingRun(rows, async (input, classes, units) => {
        const { backward, output } = await this.scoreBackward(score, units === 1);
        const spec = { wrt: request.wrt, output, ruleSet: request.ruleSet ?? exactGradient };
        return backward.runChoosing(spec, input, classes, { logits: this.output, units, off: 0 });
      });
      if (decided) return { ...decided, oneRun: true };
    }
    const resolved = await this.resolveRows(rows);
    const result = await this.gradients(resolved.input, resolved.targets, request);
    return { rows: resolved, result, oneRun: false };
  }

  /**
   * {@link ModelRuntime.relevance} at the rows' input; pending rows with top-1 or given classes
   * are resolved by the same session run, as in {@link ModelRuntime.gradientRows}. The rows'
   * logits are then those of the model relevance runs on (BatchNorm folded under composites that
   * fold it: equal to the model's up to float32 rounding).
   */
  async relevanceRows(rows: Rows, request: RelevanceRequest): Promise<RowsRun<RelevanceRun>> {
    if (isPending(rows)) {
      const plan = await this.relevancePlan(request);
      const start = request.start ?? "one-hot";
      const decided = await this.choosingRun(rows, async (input, classes, units) => {
        const off = start === "contrastive" ? -1 / units : 0;
        return plan.backward.runChoosing(plan.spec, input, classes, {
          logits: this.output,
          units,
          off,
        });
      });
      if (decided) {
        const { rows: resolved, result } = decided;
        const units = await this.units();
        const seed = startingRelevance(resolved.targets, units, start);
        return { rows: resolved, result: relevanceRun(plan, result, seed), oneRun: true };
      }
    }
    const resolved = await this.resolveRows(rows);
    const result = await this.relevance(resolved.input, resolved.targets, request);
    return { rows: resolved, result, oneRun: false };
  }

  /**
   * A compiled run that picks its own targets, and the rows it resolved: `run` gets the checked
   * images, each row's class (-1 for its top class) and the logits per row. Undefined (nothing
   * run) where the graph cannot decide the rows: top-k, no images, opsets before the head's ops.
   * The classes the graph chose are checked against resolveTargets on the logits it returned.
   */
  private async choosingRun<R extends { logits: FloatTensor; chosen: number[] }>(
    rows: PendingRows,
    run: (input: FloatTensor, classes: number[], units: number) => Promise<R>,
  ): Promise<{ rows: TargetBatch; result: R } | undefined> {
    const images = this.checkImages(rows.pending);
    const n = images.dims[0]!;
    const units = await this.units();
    const preset = presetClasses(n, units, rows.target);
    if (!preset || n === 0 || this.model.opset() < SEED_HEAD_MIN_OPSET) return undefined;
    const result = await run(images, preset, units);
    const resolved = this.targetBatch(images, result.logits, rows.target);
    const classes = resolved.targets.classes;
    if (classes.some((c, i) => c !== result.chosen[i])) {
      throw new Error(
        `internal: the graph chose classes ${result.chosen.join(", ")} where the logits rank ${classes.join(", ")}`,
      );
    }
    return { rows: resolved, result };
  }

  /**
   * The images checked against the model's input: a float32 tensor [N, ...input dims], finite
   * (a NonFiniteError names the rows with NaN or Inf).
   */
  checkImages(images: unknown): FloatTensor {
    const t = checkFloatTensor(images, "images");
    const want = this.input.dims.slice(1);
    if (t.dims.length !== want.length + 1 || want.some((d, i) => t.dims[i + 1] !== d)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `images must be [N, ${want.join(", ")}] for input "${this.input.name}" of model "${this.model.source}", got [${t.dims.join(", ")}]`,
      );
    }
    checkFiniteRows(t.data, t.dims[0]!, "the input images");
    return t;
  }

  /** Target scores of rows of logits ([R, units]): row i's score of class `classes[i]`. */
  scores(logits: FloatTensor, classes: readonly number[], score: ScoreKind): Float32Array {
    return targetScores(logits.data, sizeOf(logits.dims.slice(1)), classes, score);
  }

  /** Target scores of inputs ([M, ...input dims]): input j scored for class `classes[j]`. */
  async scoreInputs(
    inputs: FloatTensor,
    classes: readonly number[],
    score: ScoreKind,
    batchSize?: number,
  ): Promise<Float32Array> {
    const { logits } = await this.forward(inputs, batchSize !== undefined ? { batchSize } : {});
    return this.scores(logits, classes, score);
  }

  /**
   * d score / d value for each row (class `targets.classes[i]`, score `targets.score`) at the
   * `wrt` values, by the rule set's propagation, in one compiled run; also returns the model's
   * output and the wrt values that are not the input.
   */
  async gradients(
    input: FloatTensor,
    targets: Pick<Targets, "classes" | "score" | "binary">,
    request: GradientRequest,
  ): Promise<BackwardResult> {
    const { backward, output } = await this.scoreBackward(targets.score, targets.binary);
    return backward.run(
      { wrt: request.wrt, output, ruleSet: request.ruleSet ?? exactGradient },
      input,
      seedRows(targets, await this.units()),
    );
  }

  /**
   * The backward graph runner of a score: the model itself for the logit, or the model with a
   * Softmax (Sigmoid for a one-unit model) appended for the probability.
   */
  private scoreBackward(
    score: ScoreKind,
    binary: boolean,
  ): Promise<{ backward: Backward; output: string }> {
    if (score === "logit") {
      return this.backward(false).then((backward) => ({ backward, output: this.output }));
    }
    return this.cache.get(derivedKey("probability-backward", binary), async () => {
      const shapes = await this.shapes();
      const model = this.model.clone();
      model.graph.node.push({
        op_type: binary ? "Sigmoid" : "Softmax",
        name: `${PROBABILITIES}/node`,
        input: [this.output],
        output: [PROBABILITIES],
        attribute: binary ? [] : [{ name: "axis", type: 2, i: -1 }],
      });
      model.graph.output.push({
        name: PROBABILITIES,
        type: { tensor_type: { elem_type: DataType.FLOAT } },
      });
      // The copy keeps the batch axes the compiler reads.
      const withProbabilities = shapes.copy();
      withProbabilities.set(PROBABILITIES, shapes.get(this.output)!);
      const axes = withProbabilities.batchAxes.get(this.output);
      if (axes) withProbabilities.batchAxes.set(PROBABILITIES, axes);
      return {
        backward: new Backward(this.engine, model, withProbabilities, this.input.name),
        output: PROBABILITIES,
      };
    });
  }

  /** The backward graph runner of the model, or of the model with BatchNorm folded (for LRP). */
  private backward(foldBatchNorms: boolean): Promise<Backward> {
    return this.cache.get(
      derivedKey("backward", foldBatchNorms),
      async () =>
        new Backward(
          this.engine,
          this.lrpModel(foldBatchNorms),
          await this.shapes(),
          this.input.name,
        ),
    );
  }

  /** The model LRP runs on: BatchNorm folded into the preceding layers when asked. */
  lrpModel(foldBatchNorms: boolean): OnnxModel {
    if (!foldBatchNorms) return this.model;
    return this.cache.get(derivedKey("folded-batch-norm"), () => foldBatchNorm(this.model).model);
  }

  /** Per-channel bounds of the model input, from the card's preprocessing (for the zbox rule). */
  inputBounds(): {
    /** The preprocessed value of byte 0 per channel. */
    low: number[];
    /** The preprocessed value of byte 255 per channel. */
    high: number[];
  } {
    const p = this.card.preprocessing;
    const mean = p.mean ?? [0, 0, 0];
    const std = p.std ?? [1, 1, 1];
    const top = 255 * (p.scale ?? 1 / 255);
    return {
      low: mean.map((m, c) => (0 - m) / std[c]!),
      high: mean.map((m, c) => (top - m) / std[c]!),
    };
  }

  /**
   * Layer-wise relevance propagated from each row's logits (class `targets.classes[i]`) back to
   * the input and any layers under a composite, in one compiled run for the whole batch. Relevance
   * starts at the logits whatever score the targets name: LRP decomposes a logit.
   */
  async relevance(
    input: FloatTensor,
    targets: Pick<Targets, "classes" | "binary">,
    request: RelevanceRequest,
  ): Promise<RelevanceRun> {
    const plan = await this.relevancePlan(request);
    const start = startingRelevance(targets, await this.units(), request.start ?? "one-hot");
    return relevanceRun(plan, await plan.backward.run(plan.spec, input, start), start);
  }

  /** The compiled relevance graph a request runs: its backward runner, spec and layers. */
  private async relevancePlan(request: RelevanceRequest): Promise<RelevancePlan> {
    const composite: Composite =
      typeof request.composite === "string"
        ? resolveComposite(request.composite)
        : request.composite;
    const layers = await Promise.all((request.layers ?? []).map((l) => this.layer(l)));
    const layerNames = [...new Set(layers.map((l) => l.name))];
    const wantInput = request.input ?? true;
    const wrt = [...(wantInput ? [this.input.name] : []), ...layerNames];
    if (wrt.length === 0) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        "Relevance requested at no value (no input, no layers)",
      );
    }
    const backward = await this.backward(composite.foldBatchNorm);
    const ruleSet = lrpRuleSet(backward.model, composite, { bounds: this.inputBounds() });
    return {
      backward,
      spec: { wrt, output: this.output, ruleSet },
      layerNames,
      input: wantInput ? this.input.name : undefined,
    };
  }

  /** Which way {@link ModelRuntime.scoreChannelMasks} runs a layer ("auto" resolved). */
  async channelMaskStrategy(
    layer: LayerInfo,
    strategy: ChannelMaskStrategy = "auto",
  ): Promise<"tail" | "injection"> {
    return (await this.channelMaskPlan(layer, strategy)).strategy;
  }

  /**
   * Target scores of each row with the layer's channels scaled: `masks` holds `perRow` channel
   * masks [K] per target row, in row order; the network continues from A * mask, from the layer
   * on where the graph allows it (channel-masks.ts). Returns [rows * perRow].
   */
  async scoreChannelMasks(
    run: ChannelMaskRun,
    masks: Float32Array,
    perRow: number,
    strategy: ChannelMaskStrategy = "auto",
  ): Promise<Float32Array> {
    const plan = await this.channelMaskPlan(run.layer, strategy);
    return scoreChannelMasks(
      plan,
      { input: this.input.name, output: this.output },
      run,
      masks,
      perRow,
    );
  }

  /** A layer's channel-mask model and session: extracting the tail walks the graph once. */
  private channelMaskPlan(
    info: LayerInfo,
    strategy: ChannelMaskStrategy,
  ): Promise<ChannelMaskPlan> {
    const layer = info.name;
    return this.cache.get(derivedKey("channel-mask", strategy, layer), async () => {
      // A tail is fed channels-first maps; other layouts are masked in place.
      const tail =
        strategy === "injection" || info.layout !== "NCHW"
          ? undefined
          : extractTail(this.model, layer, info.dims, this.output);
      if (tail) return { strategy: "tail" as const, session: await this.engine.session(tail) };
      if (strategy === "tail") {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `The graph after "${layer}" reads values from before it: no tail model`,
        );
      }
      const injected = injectChannelMask(this.model, layer, info.dims[1]!, info.layout);
      return { strategy: "injection" as const, session: await this.engine.session(injected) };
    });
  }
}

/** A relevance request compiled: see ModelRuntime.relevancePlan. */
interface RelevancePlan {
  backward: Backward;
  spec: BackwardSpec;
  layerNames: string[];
  /** The input's name when relevance at the input is asked for. */
  input: string | undefined;
}

/** A relevance run's result in the runtime's vocabulary. */
function relevanceRun(
  plan: RelevancePlan,
  result: BackwardResult,
  start: Float32Array,
): RelevanceRun {
  const inputRelevance = plan.input !== undefined ? result.grads.get(plan.input)! : undefined;
  return {
    logits: result.output,
    start,
    ...(inputRelevance ? { input: inputRelevance } : {}),
    layers: new Map(
      plan.layerNames.map((l) => [
        l,
        { relevance: result.grads.get(l)!, activations: result.activations.get(l)! },
      ]),
    ),
  };
}

/** The report of a model given in canonical form, which intake would leave unchanged. */
function canonicalReport(model: OnnxModel, output: string): IntakeReport {
  const dims = valueInfoDims(model.outputs().find((o) => o.name === output)!) ?? [];
  return {
    opset: { exported: model.opset(), running: model.opset() },
    precision: "float32",
    layout: "NCHW",
    head: "logits",
    exportedOutput: { name: output, dims: dims.map((d) => d ?? 1) },
    classes: dims[1] ?? 0,
    batch: { kind: "dynamic" },
    externalTensors: 0,
    changes: [],
  };
}

/** Preprocessing must produce exactly the tensor the model takes, or every run fails obscurely. */
function checkPreprocessingFits(model: OnnxModel, card: ModelCard, input: ModelInput): void {
  const dims = specInputDims(card.preprocessing);
  if (dims.join("x") !== input.dims.join("x")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Preprocessing makes ${dims.join("x")} tensors, but model "${model.source}" input "${input.name}" is ${input.dims.join("x")}`,
    );
  }
}
