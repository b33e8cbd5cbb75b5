// Test-time augmentation smoothing, as pytorch-grad-cam's aug_smooth: each target is explained on
// a horizontal flip x intensity grid of its input (ttach's HorizontalFlip and Multiply(0.9, 1,
// 1.1) on the preprocessed tensor), every final map is flipped back, and the maps are averaged.
// Unlike pytorch-grad-cam, every variant explains the class chosen on the unaugmented image (a
// flipped or darkened image may rank classes differently), and the mean is min-max normalised
// again so the smoothed map spans [0, 1] like every other final map.
import type { FloatTensor } from "../compiler/backward-session.ts";
import type { TensorLayout } from "../image/preprocess.ts";
import { sizeOf } from "../onnx/tensor.ts";
import type { CamExplainer, ExplainOptions, Explanation, MethodMaps } from "./explainer.ts";
import { normalizeInPlace } from "./maps.ts";
import { NonFiniteError } from "../util/finite.ts";
import { gatherRows, resolveTargets, targetScores } from "./targets.ts";

export interface Augmentation {
  flip: boolean;
  multiplier: number;
}

const MULTIPLIERS = [0.9, 1, 1.1];

/** The six variants, the unaugmented one (no flip, x1) among them. */
export const AUGMENTATIONS: readonly Augmentation[] = [false, true].flatMap((flip) =>
  MULTIPLIERS.map((multiplier) => ({ flip, multiplier })),
);

/** A copy of a row-major tensor with `axis` reversed. */
export function flipAxis(t: FloatTensor, axis: number): FloatTensor {
  const size = t.dims[axis]!;
  const inner = sizeOf(t.dims.slice(axis + 1));
  const outer = t.data.length / (size * inner);
  const data = new Float32Array(t.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < size; i++) {
      const from = (o * size + i) * inner;
      data.set(t.data.subarray(from, from + inner), (o * size + size - 1 - i) * inner);
    }
  }
  return { data, dims: [...t.dims] };
}

/**
 * The variants of every row of `input`: row r, variant v at row r * V + v (V = AUGMENTATIONS
 * length), so each target's variants are adjacent.
 */
export function augmentRows(input: FloatTensor, layout: TensorLayout): FloatTensor {
  const widthAxis = layout === "NCHW" ? 3 : 2;
  const flipped = flipAxis(input, widthAxis);
  const rows = input.dims[0]!;
  const per = input.data.length / rows;
  const data = new Float32Array(rows * AUGMENTATIONS.length * per);
  for (let r = 0; r < rows; r++) {
    AUGMENTATIONS.forEach(({ flip, multiplier }, v) => {
      const source = (flip ? flipped : input).data.subarray(r * per, (r + 1) * per);
      const offset = (r * AUGMENTATIONS.length + v) * per;
      for (let j = 0; j < per; j++) data[offset + j] = source[j]! * multiplier;
    });
  }
  return { data, dims: [rows * AUGMENTATIONS.length, ...input.dims.slice(1)] };
}

/**
 * Maps of all variants, [R * V, h, w], back to one per row, [R, h, w]: flipped variants are
 * flipped back, then the V maps of a row are averaged.
 */
export function mergeVariants(maps: FloatTensor): FloatTensor {
  const [n, h, w] = maps.dims as [number, number, number];
  const variants = AUGMENTATIONS.length;
  const rows = n / variants;
  const area = h * w;
  const unflipped = flipAxis(maps, 2);
  const out = new Float32Array(rows * area);
  for (let r = 0; r < rows; r++) {
    AUGMENTATIONS.forEach(({ flip }, v) => {
      const src = (flip ? unflipped : maps).data;
      const offset = (r * variants + v) * area;
      for (let p = 0; p < area; p++) out[r * area + p]! += src[offset + p]! / variants;
    });
  }
  return { data: out, dims: [rows, h, w] };
}

/**
 * CamExplainer.explain with augmentation smoothing. The targets are resolved on the unaugmented
 * images; all variants of all targets then go through ONE explain call, so every method sees a
 * single batch. Raw maps are the variants' raw maps flipped back and averaged (no ReLU or
 * normalisation); forward passes count every variant's.
 */
export async function explainSmoothed(
  explainer: CamExplainer,
  images: FloatTensor,
  options: ExplainOptions,
): Promise<Explanation> {
  const n = images.dims[0]!;
  const imageLogits = await explainer.logits(images);
  const targets = resolveTargets(imageLogits, n, options.target);
  const variants = AUGMENTATIONS.length;
  const layout = explainer.ctx.card.preprocessing.layout ?? "NCHW";
  const augmented = augmentRows(gatherRows(images, targets.image), layout);
  const classes = targets.classes.flatMap((c) => new Array<number>(variants).fill(c));
  const explanation = await explainer
    .explain(augmented, { ...options, target: { classes, score: targets.score } })
    .catch((error: unknown) => {
      // Rows of the augmented batch are variants of targets: name the images they came from.
      if (!(error instanceof NonFiniteError)) throw error;
      const sources = error.images.map((i) => targets.image[Math.floor(i / variants)]!);
      throw new NonFiniteError(
        `${error.what} (test-time augmentation)`,
        [...new Set(sources)].sort((a, b) => a - b),
        error.found,
      );
    });
  const results = explanation.results.map((result): MethodMaps => {
    const map = mergeVariants(result.map);
    normalizeInPlace(map.data, map.dims[0]!);
    return {
      method: result.method,
      raw: result.raw.map(mergeVariants),
      map,
      extraForwardPasses: result.extraForwardPasses * variants,
      milliseconds: result.milliseconds,
    };
  });
  // Scores and logits are those of the unaugmented images.
  const units = imageLogits.length / n;
  const logits = gatherRows({ data: imageLogits, dims: [n, units] }, targets.image);
  return {
    targets,
    scores: targetScores(logits.data, units, targets.classes, targets.score),
    logits,
    layers: explanation.layers,
    results,
    // The targets' forward pass on the unaugmented images, then every variant's own passes.
    sharedPasses: {
      forward: 1 + variants * explanation.sharedPasses.forward,
      backward: variants * explanation.sharedPasses.backward,
    },
  };
}
