// Images into model inputs, a batch at a time: decoded images are preprocessed into one tensor,
// and one image that preprocessing rejects does not take its batch down with it.
import { preprocess, type PreprocessSpec } from "../image/preprocess.ts";
import type { InputTransform, RgbImage } from "../image/types.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

/** A decoded image of a batch, with whatever the caller keeps with it. */
export interface DecodedImage<T> {
  /** The caller's item (a path, a dataset record). */
  item: T;
  /** Its position among all the items. */
  index: number;
  /** The decoded image. */
  rgb: RgbImage;
}

/** A decoded image that made it into the batch's input tensor. */
export interface PreparedImage<T> extends DecodedImage<T> {
  /** How preprocessing mapped it to the model input. */
  transform: InputTransform;
}

/** An item that could not be decoded or preprocessed, and why. */
export interface FailedImage<T> {
  /** The item that failed. */
  item: T;
  /** Its position among the items given. */
  index: number;
  /** One line naming the image and the cause. */
  error: string;
}

/**
 * Preprocesses a batch in one call. Only an image preprocessing rejects (a wrong size for resize
 * "none") makes the batch fail; then each image is tried alone to find the culprits, which are
 * reported through `fail` (named by `name`), and the rest are preprocessed together. Returns the
 * images that made it, in order, and their input tensor ([0] when none did).
 */
export function prepareBatch<T>(
  images: readonly DecodedImage<T>[],
  spec: PreprocessSpec,
  name: (item: T) => string,
  fail: (failure: FailedImage<T>) => void,
): {
  /** The images preprocessed, in order. */
  images: PreparedImage<T>[];
  /** Their model input, [N, ...input dims]. */
  input: FloatTensor;
} {
  const run = (batch: readonly DecodedImage<T>[]) => {
    if (batch.length === 0) return { images: [], input: { data: new Float32Array(0), dims: [0] } };
    const pre = preprocess(
      batch.map((image) => image.rgb),
      spec,
    );
    return {
      images: batch.map((image, i) => ({ ...image, transform: pre.transforms[i]! })),
      input: { data: pre.tensor, dims: [...pre.dims] },
    };
  };
  try {
    return run(images);
  } catch {
    const ok = images.filter((image) => {
      try {
        preprocess([image.rgb], spec);
        return true;
      } catch (error) {
        fail({
          item: image.item,
          index: image.index,
          error: `Cannot preprocess image "${name(image.item)}": ${(error as Error).message}`,
        });
        return false;
      }
    });
    return run(ok);
  }
}
