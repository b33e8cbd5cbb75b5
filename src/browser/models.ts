// Models in the browser come as bytes (a file the user picked or dropped, or a bundled model
// fetched from the page's site) with an optional card, and are taken in exactly as loadModel
// takes in a file in Node (models/load.ts): intake, the card's labels and preprocessing, ImageNet
// labels for 1000 classes.
import type { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { parseCard, type CardFile } from "../models/card.ts";
import { takeInModel, type LoadedModel, type TakeInOptions } from "../models/load.ts";
import { OnnxModel } from "../onnx/model.ts";

/** A model as the page has it: the .onnx file's bytes and, optionally, its card's text. */
export interface ModelBytes {
  /** The model's name in messages and on screen (a file name, or a bundled model's name). */
  name: string;
  /** The .onnx file. */
  bytes: Uint8Array;
  /** The card (`<model>.json`), as text or parsed JSON; none: labels and preset are guessed. */
  card?: string | object;
  /** The card's name in messages. */
  cardName?: string;
  /** Whether it is one of camscope's bundled models. */
  bundled?: boolean;
}

/**
 * Takes a model in from its bytes and card (see takeInModel); intake's probe runs use `engine`.
 * A model whose weights sit in external-data files is refused with the reason: the page holds
 * only the .onnx file.
 */
export async function openModelBytes(
  source: ModelBytes,
  engine: Engine,
  options: Omit<TakeInOptions, "engine"> = {},
): Promise<LoadedModel> {
  const cardName = source.cardName ?? `${source.name.replace(/\.onnx$/i, "")}.json`;
  const card: CardFile =
    source.card === undefined ? {} : parseCard(cardJson(source.card, cardName), cardName);
  return takeInModel(
    {
      model: OnnxModel.fromBytes(source.bytes, source.name),
      card,
      ...(source.card === undefined ? {} : { cardSource: cardName }),
      name: source.name.replace(/\.onnx$/i, ""),
      bundled: source.bundled ?? false,
      readExternal: async (location) => {
        throw new CamscopeError(
          "MODEL_LOAD",
          `Model "${source.name}" keeps its weights in external data ("${location}"), which a page cannot read beside it; save it as one .onnx file (onnx.save_model(model, path, save_as_external_data=False)) or use the command line`,
        );
      },
    },
    { ...options, engine },
  );
}

function cardJson(card: string | object, name: string): unknown {
  if (typeof card !== "string") return card;
  try {
    return JSON.parse(card) as unknown;
  } catch (error) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model card "${name}" is not valid JSON: ${(error as Error).message}`,
    );
  }
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
