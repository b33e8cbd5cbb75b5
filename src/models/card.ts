// The model card: what camscope needs to know about a classifier beyond its ONNX graph (class
// names, preprocessing, the layer to explain), plus the provenance of the bundled models.
import { CamscopeError } from "../errors.ts";
import { preprocess, type PreprocessSpec } from "../image/preprocess.ts";

/**
 * What camscope needs to know about a classifier beyond its ONNX graph (class names,
 * preprocessing, the layer to explain), plus the provenance of the bundled models. Read from
 * `<model>.json` beside the model.
 */
export interface ModelCard {
  /** The model's name. */
  name: string;
  /** Architecture family of a bundled model ("vgg", "resnet", "mobilenet"). */
  family?: string;
  /** What the model is, in a sentence or two. */
  description?: string;
  /** Class names in output order. */
  labels: string[];
  /** The image input as exported; null marks a symbolic (batch) dim. */
  input?: {
    /** The input's name. */
    name: string;
    /** Its dims. */
    dims: (number | null)[];
  };
  /** Name of the logits output. */
  output?: string;
  /** How images become the model's input tensor. */
  preprocessing: PreprocessSpec;
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

type Json = Record<string, unknown>;

/**
 * Checks a parsed card and returns it typed. Only the fields camscope reads are checked in depth;
 * `source` names the card file in errors.
 */
export function parseCard(value: unknown, source: string): ModelCard {
  const fail = (why: string): never => {
    throw new CamscopeError("MODEL_LOAD", `Invalid model card "${source}": ${why}`);
  };
  if (!isObject(value)) return fail("not a JSON object");
  const card = value as Json;
  if (typeof card.name !== "string" || card.name === "") fail(`"name" must be a non-empty string`);
  const labels = card.labels;
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    !labels.every((l) => typeof l === "string")
  ) {
    fail(`"labels" must be a non-empty array of strings`);
  }
  if (!isObject(card.preprocessing)) return fail(`"preprocessing" must be an object`);
  try {
    specInputDims(card.preprocessing as unknown as PreprocessSpec);
  } catch (error) {
    fail((error as Error).message);
  }
  for (const key of ["family", "description", "output", "defaultLayer"] as const) {
    if (card[key] !== undefined && typeof card[key] !== "string") fail(`"${key}" must be a string`);
  }
  if (card.heldOutAccuracy !== undefined) {
    const a = card.heldOutAccuracy;
    if (typeof a !== "number" || !(a >= 0 && a <= 1)) {
      fail(`"heldOutAccuracy" must be a number in [0, 1]`);
    }
  }
  if (card.evaluation !== undefined) {
    const e = card.evaluation;
    if (
      !isObject(e) ||
      typeof e.split !== "string" ||
      !Number.isInteger(e.seed) ||
      !Number.isInteger(e.count)
    ) {
      fail(`"evaluation" must be { split: string, seed: integer, count: integer }`);
    }
  }
  return card as unknown as ModelCard;
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
