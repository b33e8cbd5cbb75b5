// Models from files (Node): a bundled model by name or any ONNX file by path, with its card (the
// bundled cards ship next to the models; for any other file a sibling `<file>.json` is its card)
// and its external-data files, taken in by src/models/load.ts.
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { parseCard, type CardFile } from "../models/card.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import { takeInModel, type LoadedModel, type TakeInOptions } from "../models/load.ts";
import { OnnxModel } from "../onnx/model.ts";
import { MODEL_FILE_LIMIT, readRegularFile, TEXT_FILE_LIMIT } from "../util/files.ts";
import { describe } from "../util/validate.ts";

/** The models that ship with camscope, small CNNs trained on its synthetic shapes. */
export const BUNDLED_MODELS = ["synth-vgg", "synth-resnet", "synth-mobilenet"] as const;
/** The name of a bundled model. */
export type BundledModelName = (typeof BUNDLED_MODELS)[number];

// This file sits two levels below the package root both as src/io/*.ts and dist/io/*.js.
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The folder holding the bundled `<name>.onnx` files and their `<name>.json` cards. */
export const MODELS_DIR = join(PACKAGE_ROOT, "models");

/** Options of {@link loadModel}. */
export interface LoadModelOptions extends TakeInOptions {
  /**
   * The model card: a path, or false for none; default the sibling `<model>.json` if it exists
   * (a bundled model's own card always).
   */
  card?: string | false;
}

/** Whether `name` is one of {@link BUNDLED_MODELS}. */
export function isBundledModel(name: string): name is BundledModelName {
  return (BUNDLED_MODELS as readonly string[]).includes(name);
}

/** Reads and decodes an `.onnx` file as exported (no intake; see {@link loadModel}). */
export async function readOnnxModel(path: string): Promise<OnnxModel> {
  return OnnxModel.fromBytes(await readModelBytes(path, undefined), path);
}

/**
 * Loads a bundled model by name (`synth-resnet`) or any ONNX file by path, with its card, and
 * takes it in (see takeInModel). For a file, the card is a sibling `<file>.json` if there is
 * one; external data is read from the model's folder.
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
  const [bytes, card] = await Promise.all([
    readModelBytes(path, bundled ? nameOrPath : undefined),
    cardPath ? readCard(cardPath, bundled || options.card !== undefined) : ({} as CardFile),
  ]);
  const modelDir = dirname(path);
  return takeInModel(
    {
      // A bundled model is named by its bundled name, so errors suggest `--model synth-resnet`.
      model: OnnxModel.fromBytes(bytes, bundled ? nameOrPath : path),
      card,
      ...(cardPath ? { cardSource: cardPath } : {}),
      name: basename(path).replace(/\.onnx$/i, ""),
      bundled,
      // A regular file only: a FIFO named by a model would block the read.
      readExternal: async (location) => {
        const read = await readRegularFile(join(modelDir, location), Number.MAX_SAFE_INTEGER);
        if ("reason" in read) throw new Error(read.reason);
        return new Uint8Array(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength);
      },
    },
    options,
  );
}

/** loadModel and a ModelRuntime over it, in one call. */
export async function openModel(
  nameOrPath: string,
  engine: Engine,
  options: LoadModelOptions = {},
): Promise<ModelRuntime> {
  return new ModelRuntime(await loadModel(nameOrPath, { engine, ...options }), engine);
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
