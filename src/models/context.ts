// A loaded model with what every command derives from it: the resolved input, the logits output,
// intermediate shapes (one probe run, done on first use), the spatial layers and the default one.
import type { Engine, ModelSession } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { listLayers, resolveLayer, type LayerInfo } from "../onnx/layers.ts";
import { valueInfoDims, type OnnxModel } from "../onnx/model.ts";
import { inferShapes, resolveInput, type ModelInput } from "../onnx/shapes.ts";
import { specInputDims, type ModelCard } from "./card.ts";
import type { IntakeReport } from "./intake/index.ts";
import { loadModel, type LoadModelOptions } from "./registry.ts";

/** A model to open: after intake (loadModel), or an in-memory model already in canonical form. */
export interface ModelSource {
  /** The model (canonical form: see intake). */
  model: OnnxModel;
  /** Its card, resolved. */
  card: ModelCard;
  /** Whether it is one of the bundled models. */
  bundled: boolean;
  /** Set by loadModel; a model given without it must already be canonical (see intake). */
  intake?: IntakeReport;
  /** The image input's name (default: the model's only input). */
  input?: string;
  /** The logits output's name (default: the card's, else the model's first output). */
  output?: string;
}

/**
 * A loaded model with what every explainer derives from it: the resolved input, the logits
 * output, intermediate shapes (one probe run, done on first use), the spatial layers and the
 * default one. Explainers take one; {@link openModel} makes one.
 */
export class ModelContext {
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
  private shapesOnce: Promise<ReadonlyMap<string, number[]>> | undefined;
  private layersOnce: Promise<LayerInfo[]> | undefined;

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

  /** A context for another model of the same form (e.g. with randomised weights), same card. */
  derive(model: OnnxModel): ModelContext {
    return new ModelContext(
      { model, card: this.card, bundled: false, intake: this.intake, output: this.output },
      this.engine,
    );
  }

  /** The cached session of the model. */
  session(): Promise<ModelSession> {
    return this.engine.session(this.model);
  }

  /** Dims (batch 1) of the input and every float value, from one probe run. */
  shapes(): Promise<ReadonlyMap<string, number[]>> {
    this.shapesOnce ??= inferShapes(this.model, this.engine, this.input);
    return this.shapesOnce;
  }

  /** Every spatial (4-D) activation in graph order. */
  layers(): Promise<LayerInfo[]> {
    this.layersOnce ??= this.shapes().then((shapes) =>
      listLayers(this.model, shapes, this.input.name),
    );
    return this.layersOnce;
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
}

/** loadModel and a ModelContext over it, in one call. */
export async function openModel(
  nameOrPath: string,
  engine: Engine,
  options: LoadModelOptions = {},
): Promise<ModelContext> {
  return new ModelContext(await loadModel(nameOrPath, { engine, ...options }), engine);
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
