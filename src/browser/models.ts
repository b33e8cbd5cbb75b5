// Models in the browser come as bytes (a file the user picked or dropped, or a bundled model
// fetched from the page's site) with an optional card, and are taken in as loadModel takes in a
// file in Node: intake, the card's labels and preprocessing, ImageNet labels for 1000 classes.
//
// Until the explain core lands (issue 13: models/load.ts takes a model in from bytes anywhere),
// this repeats the platform-free half of models/registry.ts's loadModel; it then calls that.
import type { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import type { PreprocessSpec, PresetName } from "../image/preprocess.ts";
import { genericLabels, imagenetLabels } from "../labels/index.ts";
import { parseCard, resolvePreprocessing, type ModelCard } from "../models/card.ts";
import { ModelContext } from "../models/context.ts";
import { intake } from "../models/intake/index.ts";
import { OnnxModel, valueInfoDims } from "../onnx/model.ts";

/** A model as the page has it: the .onnx file's bytes and, optionally, its card's text. */
export interface ModelBytes {
  /** The model's name in messages and on screen (a file name, or a bundled model's name). */
  name: string;
  /** The .onnx file. */
  bytes: Uint8Array;
  /** The card (`<model>.json`), as text or parsed JSON; none: labels and preset are guessed. */
  card?: string | unknown;
  /** The card's name in messages. */
  cardName?: string;
  /** Whether it is one of camscope's bundled models. */
  bundled?: boolean;
}

/** Options of {@link openModelBytes}. */
export interface OpenModelBytesOptions {
  /** Preprocessing that replaces the card's (a preset is fitted to the model's input size). */
  preprocessing?: PreprocessSpec | PresetName;
}

/** Takes a model in from its bytes and card and opens it on `engine`. */
export async function openModelBytes(
  source: ModelBytes,
  engine: Engine,
  options: OpenModelBytesOptions = {},
): Promise<ModelContext> {
  const cardName = source.cardName ?? `${source.name.replace(/\.onnx$/i, "")}.json`;
  const cardFile = source.card === undefined ? {} : parseCard(cardJson(source.card, cardName), cardName);
  const raw = OnnxModel.fromBytes(source.bytes, source.name);
  const requested = options.preprocessing;
  const cardSpec = cardFile.preprocessing ? resolvePreprocessing(cardFile.preprocessing) : undefined;
  const draft =
    typeof requested === "object"
      ? requested
      : resolvePreprocessing(requested ?? cardFile.preprocessing ?? "imagenet");
  const { model, report, input, output } = await intake(raw, {
    engine,
    ...(cardFile.output ? { output: cardFile.output, outputFrom: `Model card "${cardName}"` } : {}),
    ...(cardSpec?.layout ? { layout: cardSpec.layout } : {}),
    spatial: draft.size,
  });
  const classes = report.classes === 1 ? 2 : report.classes;
  if (cardFile.labels && cardFile.labels.length !== classes) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model card "${cardName}" has ${cardFile.labels.length} labels but model "${source.name}" has ${classes} outputs (classes)`,
    );
  }
  const labels =
    cardFile.labels ?? (classes === 1000 ? [...(await imagenetLabels())] : genericLabels(classes));
  const spec = requested ?? cardFile.preprocessing;
  const keepSize = typeof spec === "object" && spec.size !== undefined;
  const card: ModelCard = {
    ...cardFile,
    name: cardFile.name ?? source.name.replace(/\.onnx$/i, ""),
    labels,
    preprocessing: fitSize(model, draft, keepSize),
  };
  return new ModelContext(
    { model, card, bundled: source.bundled ?? false, intake: report, input, output },
    engine,
  );
}

function cardJson(card: unknown, name: string): unknown {
  if (typeof card !== "string") return card;
  try {
    return JSON.parse(card);
  } catch (error) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model card "${name}" is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** The spec for the NCHW canonical model, at the model's static input size unless `keepSize`. */
function fitSize(model: OnnxModel, draft: PreprocessSpec, keepSize: boolean): PreprocessSpec {
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

/** Fetches a bundled model and its card from the site's models/ folder (see `camscope serve`). */
export async function fetchBundledModel(name: string, base: string | URL): Promise<ModelBytes> {
  const url = (file: string) => new URL(`models/${encodeURIComponent(file)}`, base);
  const get = async (file: string): Promise<Response> => {
    const response = await fetch(url(file));
    if (!response.ok) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Bundled model "${name}": ${url(file).href} answered ${response.status} ${response.statusText}`,
      );
    }
    return response;
  };
  const [model, card] = await Promise.all([get(`${name}.onnx`), get(`${name}.json`)]);
  return {
    name,
    bytes: new Uint8Array(await model.arrayBuffer()),
    card: await card.text(),
    cardName: `${name}.json`,
    bundled: true,
  };
}

