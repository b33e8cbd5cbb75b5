// What to explain: which class of each image, and which score of it. The one implementation of
// target resolution (top-1, given classes, top-k) and of target scores (logit or probability),
// which every method, metric and command reaches through the model runtime.
//
// A model with a single output unit is a binary classifier: class 1 is the positive logit and
// class 0 its negation, so the negative class is explained by the negative logit rather than by
// the positive one.
import { CamscopeError } from "../errors.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { checkChoice, checkInteger, describe } from "../util/validate.ts";

/** The score explained: the raw logit or the softmax (sigmoid for one output) probability. */
export type ScoreKind = "logit" | "probability";

/** Which classes to explain. */
export interface TargetOptions {
  /**
   * "top1" (default), one class for every image, or one entry per image: a class, or "top1" for
   * that image's top class.
   */
  classes?: "top1" | number | readonly (number | "top1")[];
  /** Explain the k highest-scoring classes of every image (overrides `classes`). */
  topK?: number;
  /** Differentiate / score the raw logit (default) or the softmax (sigmoid) probability. */
  score?: ScoreKind;
}

/** Resolved (image, class) pairs: row i explains class `classes[i]` of image `image[i]`. */
export interface Targets {
  /** The image (batch index) of each row. */
  image: number[];
  /** The class of each row. */
  classes: number[];
  /** The score explained. */
  score: ScoreKind;
  /** The model has one output unit (binary classifier). */
  binary: boolean;
}

/**
 * The rows a batch of images is explained as: the resolved targets, each row's input (images
 * repeated for top-k), logits and target score. What every method family takes.
 */
export interface TargetBatch {
  /** The number of images the rows come from. */
  images: number;
  /** The (image, class) pair of each row. */
  targets: Targets;
  /** Each row's model input, [R, ...input dims]. */
  input: FloatTensor;
  /** Each row's logits, [R, units]. */
  logits: FloatTensor;
  /** Each row's target score (targets.score) on its input. */
  scores: Float32Array;
}

/** Images whose targets are not resolved yet: the first compiled run at them may resolve them. */
export interface PendingRows {
  /** The images, [N, ...input dims]. */
  pending: FloatTensor;
  /** Which classes to explain; default each image's top class. */
  target?: TargetOptions;
}

/** Rows to explain: resolved already (a TargetBatch), or images whose targets a run resolves. */
export type Rows = TargetBatch | PendingRows;

/** Whether the rows still wait for their targets. */
export function isPending(rows: Rows): rows is PendingRows {
  return "pending" in rows;
}

function ranking(row: Float32Array, binary: boolean): number[] {
  if (binary) return row[0]! > 0 ? [1, 0] : [0, 1];
  return Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
}

export const SCORE_KINDS: readonly ScoreKind[] = ["logit", "probability"];

/** The target options checked (types and ranges), for callers in plain JavaScript too. */
function checkTargetOptions(options: unknown, classCount: number): TargetOptions {
  if (options === null || typeof options !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `target must be an object { classes?, topK?, score? }, got ${describe(options)}`,
    );
  }
  const o = options as TargetOptions;
  if (o.topK !== undefined) checkInteger(o.topK, "target topK", { min: 1 });
  if (o.score !== undefined) checkChoice(o.score, "target score", SCORE_KINDS);
  const c = o.classes;
  // Per-image entries may be "top1" too (the CLI's --target with a `top1` among the classes).
  const isClass = (v: unknown) => v === "top1" || (typeof v === "number" && Number.isInteger(v));
  if (c !== undefined && !isClass(c) && !(Array.isArray(c) && c.every(isClass))) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `target classes must be "top1", a class index from 0 to ${classCount - 1} or an array of them, got ${describe(c)}`,
    );
  }
  return o;
}

/**
 * The class each of `n` images is explained for as far as the options fix it before any run: a
 * given class, or -1 for the image's top class (which its logits decide); undefined for top-k,
 * whose rows the ranking decides. The options are checked as {@link resolveTargets} checks them.
 */
export function presetClasses(
  n: number,
  units: number,
  options: TargetOptions = {},
): number[] | undefined {
  const classCount = units === 1 ? 2 : units;
  checkTargetOptions(options, classCount);
  if (options.topK !== undefined) return undefined;
  const spec = options.classes ?? "top1";
  if (typeof spec === "object" && spec.length !== n) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `${spec.length} target classes given for ${n} images`,
    );
  }
  return Array.from({ length: n }, (_, i) => {
    const c = typeof spec === "object" ? spec[i]! : spec;
    if (c === "top1") return -1;
    if (!Number.isInteger(c) || c < 0 || c >= classCount) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Target class ${c} is out of range: target classes must be from 0 to ${classCount - 1}`,
      );
    }
    return c;
  });
}

/**
 * The rows to explain for a batch of `n` images given their logits ([n, classes]): each image's top
 * class, a given class per image, or each image's `topK` classes. Unknown classes throw a
 * {@link CamscopeError}.
 */
export function resolveTargets(
  logits: Float32Array,
  n: number,
  options: TargetOptions = {},
): Targets {
  const units = logits.length / n;
  const binary = units === 1;
  const score = options.score ?? "logit";
  const row = (i: number) => logits.subarray(i * units, (i + 1) * units);
  const preset = presetClasses(n, units, options);
  if (preset) {
    const classes = preset.map((c, i) => (c === -1 ? ranking(row(i), binary)[0]! : c));
    return { image: classes.map((_, i) => i), classes, score, binary };
  }
  const image: number[] = [];
  const classes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of ranking(row(i), binary).slice(0, options.topK)) {
      image.push(i);
      classes.push(c);
    }
  }
  return { image, classes, score, binary };
}

/**
 * Seed rows for the backward pass: one-hot on the class, or for a binary model +1 / -1 on its
 * single unit (the derivative of the logit or of its negation).
 */
export function seedRows(
  targets: Pick<Targets, "classes" | "binary">,
  units: number,
): Float32Array {
  const seed = new Float32Array(targets.classes.length * units);
  targets.classes.forEach((c, i) => {
    if (targets.binary) seed[i] = c === 1 ? 1 : -1;
    else seed[i * units + c] = 1;
  });
  return seed;
}

/**
 * The class probabilities of one row of logits, in float64: the softmax (stable for large
 * logits), or for a one-unit (binary) model the sigmoids of the negated and of the logit.
 */
export function classProbabilities(row: ArrayLike<number>): Float64Array {
  if (row.length === 1) {
    const z = row[0]!;
    return Float64Array.of(1 / (1 + Math.exp(z)), 1 / (1 + Math.exp(-z)));
  }
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    out[i] = Math.exp(row[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

/** The target score of each row from the logits of the corresponding images. */
export function targetScores(
  logits: Float32Array,
  units: number,
  classes: readonly number[],
  score: ScoreKind,
): Float32Array {
  return Float32Array.from(classes, (c, i) => {
    const row = logits.subarray(i * units, (i + 1) * units);
    if (score === "probability") return classProbabilities(row)[c]!;
    // A binary model's class 0 is its negated logit.
    return units === 1 ? (c === 1 ? row[0]! : -row[0]!) : row[c]!;
  });
}
