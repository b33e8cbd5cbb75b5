// The model card: what camscope needs to know about a classifier beyond its ONNX graph (class
// names, preprocessing, the output and layer to explain), plus the provenance of the bundled
// models. A card sits beside its model as `<model>.json`; every field is optional, and anything a
// card says is checked: a typo or a wrong type is an error naming the card and the field, never a
// silently ignored card.
import { CamscopeError } from "../errors.ts";
import {
  PREPROCESS_PRESETS,
  preprocess,
  type PreprocessSpec,
  type PresetName,
} from "../image/preprocess.ts";

/** A card's preprocessing: a preset name, or a preset with overrides, or a full spec. */
export type CardPreprocessing =
  | PresetName
  | (Partial<PreprocessSpec> & {
      /** The preset the other fields override. */
      preset?: PresetName;
    });

/**
 * What camscope needs to know about a classifier beyond its ONNX graph (class names,
 * preprocessing, the output and layer to explain), plus the provenance of the bundled models, as
 * written in `<model>.json` beside the model (every field optional).
 */
export interface CardFile {
  /** The model's name (default: the file name). */
  name?: string;
  /** Architecture family of a bundled model ("vgg", "resnet", "mobilenet"). */
  family?: string;
  /** What the model is, in a sentence or two. */
  description?: string;
  /** Class names in output order; defaults to ImageNet-1k's for 1000 classes. */
  labels?: string[];
  /** The image input as exported; null marks a symbolic (batch) dim. */
  input?: {
    /** The input's name. */
    name: string;
    /** Its dims. */
    dims: (number | null)[];
  };
  /** Name of the class-score output (required when the model has several outputs). */
  output?: string;
  /** How images become the model's input tensor: a preset name or a spec (see docs/models.md). */
  preprocessing?: CardPreprocessing;
  /** The ONNX value CAM methods explain by default. */
  defaultLayer?: string;
  /** Top-1 accuracy on the held-out evaluation set described by `evaluation`. */
  heldOutAccuracy?: number;
  /** Top-1 accuracy on the validation split used to pick the training epoch. */
  validationAccuracy?: number;
  /** The synthetic-dataset split the held-out accuracy was measured on, and its datasetHash. */
  evaluation?: {
    /** The split's name. */
    split: string;
    /** The generator seed. */
    seed: number;
    /** Images evaluated. */
    count: number;
    /** Share of two-object images in the split. */
    twoObjectShare?: number;
    /** {@link datasetHash} of the images, to prove they were regenerated exactly. */
    datasetHash?: string;
  };
  /** Training recipe, free-form (recorded for provenance, not read by camscope). */
  training?: Record<string, unknown>;
  /** Trainable parameters. */
  parameters?: number;
  /** The ONNX opset the model was exported at. */
  opset?: number;
}

/** A card with everything resolved against its model: names, labels and preprocessing. */
export interface ModelCard extends Omit<CardFile, "labels" | "preprocessing"> {
  /** The model's name. */
  name: string;
  /** Class names in output order (the card's, ImageNet-1k's for 1000 classes, or class_<i>). */
  labels: string[];
  /** The preprocessing in full, fitted to the model's input. */
  preprocessing: PreprocessSpec;
}

type Json = Record<string, unknown>;

const SPEC_KEYS = new Set([
  "preset",
  "size",
  "resize",
  "resizeTo",
  "mean",
  "std",
  "scale",
  "layout",
  "channelOrder",
  "colorManagement",
]);

const FIELD_CHECKS: Record<keyof CardFile, (v: unknown) => string | undefined> = {
  name: (v) => (typeof v === "string" && v !== "" ? undefined : "must be a non-empty string"),
  family: stringField,
  description: stringField,
  output: stringField,
  defaultLayer: stringField,
  labels: (v) =>
    Array.isArray(v) && v.length > 0 && v.every((l) => typeof l === "string")
      ? undefined
      : "must be a non-empty array of strings",
  input: (v) => (isObject(v) ? undefined : "must be an object"),
  preprocessing: checkPreprocessing,
  heldOutAccuracy: unitField,
  validationAccuracy: unitField,
  evaluation: (v) =>
    isObject(v) &&
    typeof v.split === "string" &&
    Number.isInteger(v.seed) &&
    Number.isInteger(v.count)
      ? undefined
      : "must be { split: string, seed: integer, count: integer }",
  training: (v) => (isObject(v) ? undefined : "must be an object"),
  parameters: (v) => (Number.isInteger(v) ? undefined : "must be an integer"),
  opset: (v) => (Number.isInteger(v) ? undefined : "must be an integer"),
};

function stringField(v: unknown): string | undefined {
  return typeof v === "string" ? undefined : "must be a string";
}

function unitField(v: unknown): string | undefined {
  return typeof v === "number" && v >= 0 && v <= 1 ? undefined : "must be a number in [0, 1]";
}

function presetNames(): string {
  return Object.keys(PREPROCESS_PRESETS).join(", ");
}

function checkPreprocessing(v: unknown): string | undefined {
  if (typeof v === "string") {
    return Object.hasOwn(PREPROCESS_PRESETS, v)
      ? undefined
      : `unknown preset "${v}" (valid: ${presetNames()})`;
  }
  if (!isObject(v)) return `must be a preset name (${presetNames()}) or an object`;
  for (const key of Object.keys(v)) {
    if (!SPEC_KEYS.has(key))
      return `has unknown field "${key}" (valid: ${[...SPEC_KEYS].join(", ")})`;
  }
  if (
    v.preset !== undefined &&
    !(typeof v.preset === "string" && Object.hasOwn(PREPROCESS_PRESETS, v.preset))
  ) {
    return `"preset" must be one of ${presetNames()}`;
  }
  if (v.preset === undefined && (v.size === undefined || v.resize === undefined)) {
    return `needs a "preset" or both "size" and "resize"`;
  }
  try {
    specInputDims(resolvePreprocessing(v as CardPreprocessing));
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/**
 * Checks a parsed card file and returns it typed. `source` names the card in errors; unknown
 * fields are errors too, since a misspelt field would otherwise be silently ignored.
 */
export function parseCard(value: unknown, source: string): CardFile {
  const fail = (why: string): never => {
    throw new CamscopeError("MODEL_LOAD", `Invalid model card "${source}": ${why}`);
  };
  if (!isObject(value)) return fail("not a JSON object");
  for (const [key, v] of Object.entries(value)) {
    const check = FIELD_CHECKS[key as keyof CardFile];
    if (!check) fail(`unknown field "${key}" (valid: ${Object.keys(FIELD_CHECKS).join(", ")})`);
    const why = check!(v);
    if (why) fail(`"${key}" ${why}`);
  }
  return value as CardFile;
}

/** The full spec of a card's preprocessing: the preset's fields, then the card's overrides. */
export function resolvePreprocessing(p: CardPreprocessing): PreprocessSpec {
  if (typeof p === "string") return { ...PREPROCESS_PRESETS[p] };
  const { preset, ...overrides } = p;
  const base = preset ? PREPROCESS_PRESETS[preset] : {};
  return { ...base, ...overrides } as PreprocessSpec;
}

/**
 * The batch-1 tensor dims a preprocessing spec produces ([1, 3, H, W] or [1, H, W, 3]). Running
 * preprocess on no images validates the spec and lays out the dims exactly as a real batch would.
 */
export function specInputDims(spec: PreprocessSpec): number[] {
  try {
    return [1, ...preprocess([], spec).dims.slice(1)];
  } catch (error) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Invalid preprocessing: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
