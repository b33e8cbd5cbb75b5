// The localization rate (the "pointing game" without tolerance): the share of explanations whose
// final map peaks inside the explained object's mask. Maps are read at model-input resolution,
// where the explainer produces them, and their peak is carried to the original image, where masks
// are drawn, through the preprocessing transform.
import { CamscopeError } from "../errors.ts";
import type { SyntheticSample } from "../data/synthetic/generator.ts";
import { preprocess } from "../image/preprocess.ts";
import type { InputTransform } from "../image/types.ts";
import type { Explainer, ExplainRequest, MethodRequest } from "../explain/explainer.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** A binary object mask at original-image resolution, row-major, non-zero inside. */
export interface ObjectMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Index of the maximum of each of the n maps in `values` ([n, area]); ties go to the first. */
export function argmaxPerMap(values: Float32Array, n: number): number[] {
  const area = values.length / n;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let p = 1; p < area; p++) if (values[i * area + p]! > values[i * area + best]!) best = p;
    return best;
  });
}

/**
 * The original-image pixel whose area holds the centre of model-input pixel (x, y), undoing the
 * center crop and the resize; the inverse of the half-pixel rule mapToOriginal samples with.
 */
export function inputToOriginal(x: number, y: number, transform: InputTransform): [number, number] {
  const axis = (i: number, crop: number, resized: number, original: number): number => {
    const centre = ((i + crop + 0.5) * original) / resized;
    return Math.min(original - 1, Math.max(0, Math.floor(centre)));
  };
  return [
    axis(x, transform.cropLeft, transform.resizedWidth, transform.originalWidth),
    axis(y, transform.cropTop, transform.resizedHeight, transform.originalHeight),
  ];
}

/**
 * Whether each final map [N, H, W] (model-input resolution) has its maximum inside the mask of
 * its row; `transforms[i]` took row i's image to the model input.
 */
export function peaksInMasks(
  maps: FloatTensor,
  masks: readonly ObjectMask[],
  transforms: readonly InputTransform[],
): boolean[] {
  const [n, , width] = maps.dims as [number, number, number];
  if (masks.length !== n || transforms.length !== n) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `${n} maps need as many masks and transforms, got ${masks.length} and ${transforms.length}`,
    );
  }
  return argmaxPerMap(maps.data, n).map((peak, i) => {
    const mask = masks[i]!;
    const [x, y] = inputToOriginal(peak % width, Math.floor(peak / width), transforms[i]!);
    return mask.data[y * mask.width + x] !== 0;
  });
}

/** The share of maps whose maximum lies inside their object's mask (see peaksInMasks). */
export function localizationRate(
  maps: FloatTensor,
  masks: readonly ObjectMask[],
  transforms: readonly InputTransform[],
): number {
  const hits = peaksInMasks(maps, masks, transforms);
  return hits.filter(Boolean).length / hits.length;
}

export interface LocalizationOptions extends Pick<
  ExplainRequest,
  "layers" | "batchSize" | "seed" | "options"
> {
  /** Images per explain call; bounds memory. Default 50. */
  chunkSize?: number;
  /** Called after each chunk with the number of samples done. */
  onProgress?: (done: number) => void;
}

/**
 * The localization rate of each method (by name) on single-object samples: each sample's object
 * class is explained (the labelled object, whatever the model predicts) and its map's peak is
 * looked up in the object's mask. Every chunk is one batched explain call for all methods.
 */
export async function evaluateLocalization(
  explainer: Explainer,
  methods: readonly MethodRequest[],
  samples: readonly SyntheticSample[],
  options: LocalizationOptions = {},
): Promise<Map<string, number>> {
  const hits = new Map((await explainer.plan({ methods })).choices.map((c) => [c.method.name, 0]));
  const chunkSize = options.chunkSize ?? 50;
  for (let start = 0; start < samples.length; start += chunkSize) {
    const chunk = samples.slice(start, start + chunkSize);
    const { tensor, dims, transforms } = preprocess(
      chunk.map((s) => ({ width: s.width, height: s.height, data: s.rgb })),
      explainer.runtime.card.preprocessing,
    );
    const objects = chunk.map((s) => {
      if (s.objects.length !== 1) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `Sample ${s.index} has ${s.objects.length} objects; the localization rate needs one`,
        );
      }
      return s.objects[0]!;
    });
    const explanation = await explainer.explain(
      { data: tensor, dims },
      {
        ...(options.layers ? { layers: options.layers } : {}),
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.options ? { options: options.options } : {}),
        methods,
        target: { classes: objects.map((o) => o.category) },
      },
    );
    const masks = chunk.map((s, i) => ({
      width: s.width,
      height: s.height,
      data: objects[i]!.mask,
    }));
    for (const result of explanation.results) {
      const peaks = peaksInMasks(result.map, masks, transforms);
      hits.set(result.method.name, hits.get(result.method.name)! + peaks.filter(Boolean).length);
    }
    options.onProgress?.(start + chunk.length);
  }
  return new Map([...hits].map(([name, count]) => [name, count / samples.length]));
}
