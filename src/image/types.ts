// Plain-data image types shared by the image layer. They hold nothing Node-specific so the same
// code runs in a browser; only decode.ts and png.ts touch sharp.
import { CamscopeError } from "../errors.ts";

/** A colour as [red, green, blue] bytes, 0 to 255. */
export type Rgb = readonly [number, number, number];

/** An 8-bit sRGB image, pixels stored row-major as interleaved R, G, B (HWC). */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width x height x 3 bytes. */
  data: Uint8Array;
}

/** A single-channel float map (heatmap, saliency, attribution), stored row-major (H x W). */
export interface FloatMap {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width x height values. */
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
  /** Width of the decoded image. */
  originalWidth: number;
  /** Height of the decoded image. */
  originalHeight: number;
  /** Width after the resize. */
  resizedWidth: number;
  /** Height after the resize. */
  resizedHeight: number;
  /** Left edge of the crop in resized pixels (negative: padded). */
  cropLeft: number;
  /** Top edge of the crop in resized pixels (negative: padded). */
  cropTop: number;
  /** Width of the model input. */
  inputWidth: number;
  /** Height of the model input. */
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
