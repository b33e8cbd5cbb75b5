// Taking a model in: an ONNX model and its card (already read, by src/io/models.ts in Node or by
// the caller from bytes anywhere) become the canonical model camscope runs, with what the card
// leaves out filled in from the graph (labels, preprocessing size). No file access here.
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { PREPROCESS_PRESETS, type PreprocessSpec, type PresetName } from "../image/preprocess.ts";
import { genericLabels, imagenetLabels } from "../labels/index.ts";
import { valueInfoDims, type OnnxModel } from "../onnx/model.ts";
import { resolvePreprocessing, type CardFile, type ModelCard } from "./card.ts";
import type { ExternalDataReader } from "./intake/external-data.ts";
import { intake, type IntakeReport, type Layout } from "./intake/index.ts";

/** A model and its card after intake, from {@link takeInModel} (or loadModel in Node). */
export interface LoadedModel {
  /** The model after intake: opset >= 13, float32, NCHW input, [N, C] logits output. */
  model: OnnxModel;
  /** Its card (bundled, from a sibling `.json`, or synthesised). */
  card: ModelCard;
  /** Whether the model is one of camscope's bundled models (io/models.ts). */
  bundled: boolean;
  /** What intake found and changed. */
  intake: IntakeReport;
  /** The canonical model's image input. */
  input: string;
  /** The canonical model's logits output. */
  output: string;
}

/** Options of {@link takeInModel} (and of loadModel, which adds where the card comes from). */
export interface TakeInOptions {
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
  /** Engine for intake's probe runs; a private one is used (and disposed) otherwise. */
  engine?: Engine;
}

/** A decoded model and its card file, as {@link takeInModel} takes them. */
export interface RawModel {
  /** The model as exported. */
  model: OnnxModel;
  /** Its card file, parsed (parseCard); an empty object for none. */
  card: CardFile;
  /** The card's name in messages (a path), when there is a card. */
  cardSource?: string;
  /** The card's name when the card gives none (a file name without extension). */
  name: string;
  /** Whether the model is one of camscope's bundled models. */
  bundled?: boolean;
  /** Reads the model's external-data files; needed only by models that have them. */
  readExternal?: ExternalDataReader;
}

/**
 * Takes a model in (see intake/index.ts) with its card: labels the card does not give are
 * ImageNet-1k's for a 1000-class output and `class_<i>` otherwise, and preprocessing it does not
 * give is the `imagenet` preset fitted to the model.
 */
export async function takeInModel(
  source: RawModel,
  options: TakeInOptions = {},
): Promise<LoadedModel> {
  const { model: raw, card: cardFile, cardSource } = source;
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
      ...(source.readExternal ? { readExternal: source.readExternal } : {}),
      ...((options.output ?? cardFile.output)
        ? {
            output: (options.output ?? cardFile.output)!,
            outputFrom: options.output ? "--output" : `Model card "${cardSource}"`,
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
  const labels = await labelsFor(cardFile, report.classes, cardSource, model.source);
  // An explicit spec is used as given; a preset, or a card spec without a size, takes the model's.
  const given = requested ?? cardFile.preprocessing;
  const explicitSize = typeof given === "object" && given.size !== undefined;
  const preprocessing = fitSpec(model, draft, explicitSize);
  if (options.colorManagement !== undefined)
    preprocessing.colorManagement = options.colorManagement;
  const card: ModelCard = {
    ...cardFile,
    name: cardFile.name ?? source.name,
    labels,
    preprocessing,
  };
  return {
    model,
    card,
    bundled: source.bundled ?? false,
    intake: report,
    input: taken.input,
    output: taken.output,
  };
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
