// Finding a model by bundled name or file path, with its card, and taking it in: the bundled
// cards ship next to the models; for any other ONNX file a sibling `<file>.json` is its card, and
// what the card leaves out is filled in from the graph (labels, preprocessing size).
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { MODEL_FILE_LIMIT, readRegularFile, TEXT_FILE_LIMIT } from "../util/files.ts";
import { describe } from "../util/validate.ts";
import { PREPROCESS_PRESETS, type PreprocessSpec, type PresetName } from "../image/preprocess.ts";
import { genericLabels, imagenetLabels } from "../labels/index.ts";
import { OnnxModel, valueInfoDims } from "../onnx/model.ts";
import { parseCard, resolvePreprocessing, type CardFile, type ModelCard } from "./card.ts";
import { intake, type IntakeReport, type Layout } from "./intake/index.ts";

/** The models that ship with camscope, small CNNs trained on its synthetic shapes. */
export const BUNDLED_MODELS = ["synth-vgg", "synth-resnet", "synth-mobilenet"] as const;
/** The name of a bundled model. */
export type BundledModelName = (typeof BUNDLED_MODELS)[number];

// This file sits two levels below the package root both as src/models/*.ts and dist/models/*.js.
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The folder holding the bundled `<name>.onnx` files and their `<name>.json` cards. */
export const MODELS_DIR = join(PACKAGE_ROOT, "models");

/** A model and its card, from {@link loadModel}. */
export interface LoadedModel {
  /** The model after intake: opset >= 13, float32, NCHW input, [N, C] logits output. */
  model: OnnxModel;
  /** Its card (bundled, from a sibling `.json`, or synthesised). */
  card: ModelCard;
  /** Whether the model is one of BUNDLED_MODELS. */
  bundled: boolean;
  /** What intake found and changed. */
  intake: IntakeReport;
  /** The canonical model's image input and logits output. */
  input: string;
  /** The canonical model's [N, C] logits output. */
  output: string;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /**
   * Preprocessing that replaces the card's. A preset name is fitted to the model: its size
   * becomes the model's static input size.
   */
  preprocessing?: PreprocessSpec | PresetName;
  /** The class-score output, for models with several outputs (overrides the card's). */
  output?: string;
  /** The input layout, where the graph does not make it clear (overrides the card's). */
  layout?: Layout;
  /** Decode images with ICC colour management (overrides the card's preprocessing). */
  colorManagement?: boolean;
  /**
   * The model card: a path, or false for none; default the sibling `<model>.json` if it exists
   * (a bundled model's own card always).
   */
  card?: string | false;
  /** Engine for intake's probe runs; a private one is used (and disposed) otherwise. */
  engine?: Engine;
}

/** Whether `name` is one of {@link BUNDLED_MODELS}. */
export function isBundledModel(name: string): name is BundledModelName {
  return (BUNDLED_MODELS as readonly string[]).includes(name);
}

/**
 * Loads a bundled model by name (`synth-resnet`) or any ONNX file by path, with its card, and
 * takes it in (see intake/index.ts). For a file, the card is a sibling `<file>.json` if there is
 * one; labels it does not give are ImageNet-1k's for a 1000-class output and `class_<i>`
 * otherwise, and preprocessing it does not give is the `imagenet` preset fitted to the model.
 */
export async function loadModel(
  nameOrPath: string,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  if (typeof nameOrPath !== "string" || nameOrPath === "") {
    throw new CamscopeError(
      "UNKNOWN_MODEL",
      `The model must be a bundled model name (${BUNDLED_MODELS.join(", ")}) or a path to an .onnx file, got ${describe(nameOrPath)}`,
    );
  }
  const bundled = isBundledModel(nameOrPath);
  const path = bundled ? join(MODELS_DIR, `${nameOrPath}.onnx`) : nameOrPath;
  if (!bundled && !/[\\/]/.test(nameOrPath) && !nameOrPath.toLowerCase().endsWith(".onnx")) {
    throw new CamscopeError(
      "UNKNOWN_MODEL",
      `Unknown model "${nameOrPath}": not a bundled model (${BUNDLED_MODELS.join(", ")}) or a path to an .onnx file`,
    );
  }
  const cardPath =
    bundled || options.card === undefined
      ? path.replace(/\.onnx$/i, "") + ".json"
      : options.card || undefined;
  const [bytes, cardFile] = await Promise.all([
    readModelBytes(path, bundled ? nameOrPath : undefined),
    cardPath ? readCard(cardPath, bundled || options.card !== undefined) : ({} as CardFile),
  ]);
  // A bundled model is named by its bundled name, so errors suggest `--model synth-resnet`.
  const raw = OnnxModel.fromBytes(bytes, bundled ? nameOrPath : path);
  const requested = options.preprocessing;
  const cardSpec = cardFile.preprocessing
    ? resolvePreprocessing(cardFile.preprocessing)
    : undefined;
  const draft =
    typeof requested === "object"
      ? requested
      : resolvePreprocessing(requested ?? cardFile.preprocessing ?? "imagenet");
  const engine = options.engine ?? new Engine();
  let taken: Awaited<ReturnType<typeof intake>>;
  try {
    taken = await intake(raw, {
      engine,
      modelDir: dirname(path),
      ...((options.output ?? cardFile.output)
        ? {
            output: (options.output ?? cardFile.output)!,
            outputFrom: options.output ? "--output" : `Model card "${cardPath}"`,
          }
        : {}),
      ...((options.layout ?? cardSpec?.layout)
        ? { layout: (options.layout ?? cardSpec?.layout)! }
        : {}),
      spatial: draft.size,
    });
  } finally {
    if (!options.engine) await engine.dispose();
  }
  const { model, report } = taken;
  const labels = await labelsFor(cardFile, report.classes, cardPath, model.source);
  // An explicit spec is used as given; a preset, or a card spec without a size, takes the model's.
  const source = requested ?? cardFile.preprocessing;
  const explicitSize = typeof source === "object" && source.size !== undefined;
  const preprocessing = fitSpec(model, draft, explicitSize);
  if (options.colorManagement !== undefined)
    preprocessing.colorManagement = options.colorManagement;
  const card: ModelCard = {
    ...cardFile,
    name: cardFile.name ?? basename(path).replace(/\.onnx$/i, ""),
    labels,
    preprocessing,
  };
  return { model, card, bundled, intake: report, input: taken.input, output: taken.output };
}

/** The model file's bytes: a regular file under protobuf's 2 GiB limit (a FIFO is refused unread). */
async function readModelBytes(path: string, bundledName: string | undefined): Promise<Uint8Array> {
  const read = await readRegularFile(path, MODEL_FILE_LIMIT);
  if ("reason" in read) {
    throw new CamscopeError(
      "MODEL_LOAD",
      bundledName
        ? `Bundled model "${bundledName}" is missing: ${read.reason} (the package ships models/${bundledName}.onnx)`
        : `Cannot read ONNX model "${path}": ${read.reason}`,
    );
  }
  return read.bytes;
}

/** The sibling card, checked; an absent card is an empty one (a bundled model must have one). */
async function readCard(path: string, required: boolean): Promise<CardFile> {
  // A regular file under the size limit: a FIFO named like a card is refused, not read.
  const read = await readRegularFile(path, TEXT_FILE_LIMIT);
  if ("reason" in read) {
    if (!required && read.reason === "file not found") return {};
    throw new CamscopeError("MODEL_LOAD", `Cannot read model card "${path}": ${read.reason}`);
  }
  const text = read.bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model card "${path}" is not valid JSON: ${(error as Error).message}`,
    );
  }
  return parseCard(value, path);
}

async function labelsFor(
  card: CardFile,
  classes: number,
  cardPath: string | undefined,
  source: string,
): Promise<string[]> {
  // A one-unit output is a binary classifier: two classes, the negative and the positive one.
  const count = classes === 1 ? 2 : classes;
  if (card.labels) {
    if (card.labels.length !== count) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Model card "${cardPath}" has ${card.labels.length} labels but model "${source}" has ${count} outputs (classes)`,
      );
    }
    return card.labels;
  }
  return count === 1000 ? [...(await imagenetLabels())] : genericLabels(count);
}

/**
 * A spec for the canonical model: NCHW (intake made the input NCHW, whatever the model was
 * exported with), and the model's static input size in place of its own unless `keepSize`.
 */
function fitSpec(model: OnnxModel, draft: PreprocessSpec, keepSize = false): PreprocessSpec {
  const spec: PreprocessSpec = { ...draft };
  delete spec.layout;
  if (keepSize) return spec;
  const dims = valueInfoDims(model.inputs()[0]!);
  const [h, w] = [dims?.[2], dims?.[3]];
  if (h !== undefined && w !== undefined && (h !== spec.size[0] || w !== spec.size[1])) {
    spec.size = [h, w];
    if (spec.resize === "shorter-crop") delete spec.resizeTo;
  }
  return spec;
}

/** A preset fitted to a (canonical, NCHW) model's static input size. */
export function fitPreset(model: OnnxModel, preset: PresetName): PreprocessSpec {
  return fitSpec(model, { ...PREPROCESS_PRESETS[preset] });
}
