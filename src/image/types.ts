// Plain-data image types shared by the image layer. They hold nothing Node-specific so the same
// code runs in a browser; only decode.ts and png.ts touch sharp.
import { CamscopeError } from "../errors.ts";

/** An 8-bit sRGB image, pixels stored row-major as interleaved R, G, B (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A single-channel float map (heatmap, saliency, attribution), stored row-major (H x W). */
export interface FloatMap {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * What preprocessing did to one image, so a map computed at the model input size can be carried
 * back onto the original photo (see mapToOriginal).
 *
 * The image was resized from original* to resized*, then the model input (input*) was cut from
 * the resized image with its top-left corner at (cropLeft, cropTop) in resized pixels. Negative
 * offsets mean the crop was larger than the resized image and was padded with black, as
 * torchvision's CenterCrop does.
 */
export interface InputTransform {
  originalWidth: number;
  originalHeight: number;
  resizedWidth: number;
  resizedHeight: number;
  cropLeft: number;
  cropTop: number;
  inputWidth: number;
  inputHeight: number;
}

/** Checks that an image's buffer matches its stated size, so later indexing cannot go astray. */
export function assertRgbImage(image: RgbImage, what = "image"): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CamscopeError("INVALID_ARGUMENT", `${what} has invalid size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `${what} is ${width}x${height} RGB and needs ${width * height * 3} bytes, got ${data.length}`,
    );
  }
}

/** Checks that a map's buffer matches its stated size. */
export function assertFloatMap(map: FloatMap, what = "map"): void {
  const { width, height, data } = map;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CamscopeError("INVALID_ARGUMENT", `${what} has invalid size ${width}x${height}`);
  }
  if (data.length !== width * height) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `${what} is ${width}x${height} and needs ${width * height} values, got ${data.length}`,
    );
  }
}
