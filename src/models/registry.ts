// Finding a model by bundled name or file path, with its card: the bundled cards ship next to the
// models; for any other ONNX file a card is synthesised from what the graph and a sibling card
// say.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CamscopeError } from "../errors.ts";
import { readRegularFile, TEXT_FILE_LIMIT } from "../util/files.ts";
import { describe } from "../util/validate.ts";
import { PREPROCESS_PRESETS, type PreprocessSpec, type PresetName } from "../image/preprocess.ts";
import { genericLabels, imagenetLabels } from "../labels/index.ts";
import { OnnxModel, valueInfoDims } from "../onnx/model.ts";
import { isObject, parseCard, type ModelCard } from "./card.ts";

export const BUNDLED_MODELS = ["synth-vgg", "synth-resnet", "synth-mobilenet"] as const;
export type BundledModelName = (typeof BUNDLED_MODELS)[number];

// This file sits two levels below the package root both as src/models/*.ts and dist/models/*.js.
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The folder holding the bundled `<name>.onnx` files and their `<name>.json` cards. */
export const MODELS_DIR = join(PACKAGE_ROOT, "models");

export interface LoadedModel {
  model: OnnxModel;
  card: ModelCard;
  /** Whether the model is one of BUNDLED_MODELS. */
  bundled: boolean;
}

export interface LoadModelOptions {
  /**
   * Preprocessing that replaces the card's. A preset name is fitted to the model: its size
   * becomes the model's static input size and its layout the input's layout.
   */
  preprocessing?: PreprocessSpec | PresetName;
}

export function isBundledModel(name: string): name is BundledModelName {
  return (BUNDLED_MODELS as readonly string[]).includes(name);
}

/**
 * Loads a bundled model by name (`synth-resnet`) or any ONNX file by path. For a file, the card
 * comes from a sibling `<file>.json` holding a `labels` array if there is one; otherwise the
 * labels are ImageNet-1k's for a 1000-class output and `class_<i>` for any other, and the
 * preprocessing is the `imagenet` preset fitted to the model's input.
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
  let loaded: LoadedModel;
  if (isBundledModel(nameOrPath)) {
    loaded = await loadBundled(nameOrPath);
  } else if (/[\\/]/.test(nameOrPath) || nameOrPath.endsWith(".onnx") || existsSync(nameOrPath)) {
    loaded = await loadFile(nameOrPath);
  } else {
    throw new CamscopeError(
      "UNKNOWN_MODEL",
      `Unknown model "${nameOrPath}": not a bundled model (${BUNDLED_MODELS.join(", ")}) or a path to an .onnx file`,
    );
  }
  if (options.preprocessing !== undefined) {
    const p = options.preprocessing;
    loaded.card = {
      ...loaded.card,
      preprocessing: typeof p === "string" ? fitPreset(loaded.model, p) : p,
    };
  }
  return loaded;
}

async function loadBundled(name: BundledModelName): Promise<LoadedModel> {
  const onnxPath = join(MODELS_DIR, `${name}.onnx`);
  const cardPath = join(MODELS_DIR, `${name}.json`);
  let bytes: Uint8Array;
  let cardText: string;
  try {
    [bytes, cardText] = await Promise.all([readFile(onnxPath), readFile(cardPath, "utf8")]);
  } catch (error) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Bundled model "${name}" is incomplete: ${(error as Error).message} (the package ships models/${name}.onnx and models/${name}.json)`,
      { cause: error },
    );
  }
  // Named by its bundled name, so errors suggest `--model synth-resnet`, not a long path.
  const model = OnnxModel.fromBytes(bytes, name);
  const card = parseCard(parseJson(cardText, cardPath), cardPath);
  checkClassCount(model, card, cardPath);
  return { model, card, bundled: true };
}

async function loadFile(path: string): Promise<LoadedModel> {
  const model = await OnnxModel.load(path);
  const cardPath = path.replace(/\.onnx$/i, "") + ".json";
  const sibling = await readSiblingCard(cardPath);
  let card: ModelCard;
  if (sibling) {
    // A sibling card may give just the labels; the rest is filled in as for a bare model.
    const defaults = {
      name: basename(cardPath, ".json"),
      preprocessing: fitPreset(model, "imagenet"),
    };
    card = parseCard({ ...defaults, ...sibling }, cardPath);
    checkClassCount(model, card, cardPath);
  } else {
    const classes = classCount(model);
    card = {
      name: basename(path).replace(/\.onnx$/i, ""),
      labels: classes === 1000 ? [...(await imagenetLabels())] : genericLabels(classes ?? 0),
      preprocessing: fitPreset(model, "imagenet"),
    };
  }
  return { model, card, bundled: false };
}

/**
 * The sibling JSON if it is a card (an object with `labels`). Other JSON files that happen to sit
 * next to a model (export metadata, test fixtures' descriptions) are not cards and are ignored.
 */
async function readSiblingCard(path: string): Promise<Record<string, unknown> | undefined> {
  // Not a regular file (a FIFO would block the read) or unreadable: no card.
  const read = await readRegularFile(path, TEXT_FILE_LIMIT);
  if ("reason" in read) return undefined;
  const text = read.bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(value) && "labels" in value ? value : undefined;
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model card "${path}" is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** The class count of the model's (first) output when its last dim is static. */
function classCount(model: OnnxModel): number | undefined {
  const output = model.outputs()[0];
  const dims = output ? valueInfoDims(output) : undefined;
  return dims && dims.length === 2 ? dims[1] : undefined;
}

function checkClassCount(model: OnnxModel, card: ModelCard, cardPath: string): void {
  const classes = classCount(model);
  if (classes !== undefined && classes !== card.labels.length) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model card "${cardPath}" has ${card.labels.length} labels but model "${model.source}" has ${classes} outputs`,
    );
  }
}

/**
 * A preset with the model's own input geometry: its static height and width replace the preset's
 * 224 (the resize-to size then follows from the preset's crop fraction), and a channels-last
 * input gets the NHWC layout.
 */
export function fitPreset(model: OnnxModel, preset: PresetName): PreprocessSpec {
  const spec: PreprocessSpec = { ...PREPROCESS_PRESETS[preset] };
  const input = model.inputs()[0];
  const dims = input ? valueInfoDims(input) : undefined;
  if (!dims || dims.length !== 4) return spec;
  // The same channels-last test as resolveInput.
  const channelsLast = dims[3] === 3 || dims[3] === 1;
  if (channelsLast) spec.layout = "NHWC";
  const [h, w] = channelsLast ? [dims[1], dims[2]] : [dims[2], dims[3]];
  if (h !== undefined && w !== undefined && (h !== spec.size[0] || w !== spec.size[1])) {
    spec.size = [h, w];
    delete spec.resizeTo;
  }
  return spec;
}
