// Models from files (Node): a bundled model by name or any ONNX file by path, with its card (the
// bundled cards ship next to the models; for any other file a sibling `<file>.json` is its card)
// and its external-data files, taken in by src/models/load.ts.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { parseCard, type CardFile } from "../models/card.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import { takeInModel, type LoadedModel, type TakeInOptions } from "../models/load.ts";
import { OnnxModel } from "../onnx/model.ts";

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
      readExternal: async (location) => {
        const b = await readFile(join(modelDir, location));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
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

async function readModelBytes(path: string, bundledName: string | undefined): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CamscopeError(
      "MODEL_LOAD",
      bundledName
        ? `Bundled model "${bundledName}" is missing: ${(error as Error).message} (the package ships models/${bundledName}.onnx)`
        : `Cannot read ONNX model "${path}": ${describeReadError(error)}`,
      { cause: error },
    );
  }
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "file not found";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return (error as Error).message;
}

/** The sibling card, checked; an absent card is an empty one (a bundled model must have one). */
async function readCard(path: string, required: boolean): Promise<CardFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CamscopeError(
      "MODEL_LOAD",
      `Cannot read model card "${path}": ${describeReadError(error)}`,
      { cause: error },
    );
  }
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
