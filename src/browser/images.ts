// Image I/O through the browser's own codecs: files decode with createImageBitmap (no colour
// conversion, EXIF orientation applied) and an OffscreenCanvas, into the same 8-bit RGB that
// io/images.ts makes with sharp in Node, so preprocessing gives the same tensors; overlays
// and grids encode to PNG through a canvas.
import { CamscopeError } from "../errors.ts";
// Types only: io/images.ts itself loads sharp.
import type { DecodeOptions } from "../io/images.ts";
import { assertRgbImage, type RgbImage } from "../image/types.ts";

/** The formats camscope promises to read, by their MIME types and signatures. */
const SIGNATURES: [string, (b: Uint8Array) => boolean][] = [
  ["image/png", (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47],
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  [
    "image/webp",
    (b) =>
      String.fromCharCode(...b.subarray(0, 4)) === "RIFF" &&
      String.fromCharCode(...b.subarray(8, 12)) === "WEBP",
  ],
];

/**
 * Decodes a PNG, JPEG or WebP file's bytes (or a Blob, e.g. a File from a picker or a drop) into
 * 8-bit RGB as {@link decodeImage} does in Node: EXIF orientation applied, alpha flattened onto
 * `options.background` (white by default) with libvips' rounding, embedded ICC profiles ignored
 * unless `options.colorManagement` (then the browser converts to sRGB, with its own colour engine,
 * which may differ from libvips' by a few levels).
 */
export async function decodeImageBytes(
  source: Uint8Array | Blob,
  label?: string,
  options: DecodeOptions = {},
): Promise<RgbImage> {
  const name =
    label ??
    (source instanceof Blob && "name" in source
      ? String(source.name)
      : `<${source instanceof Blob ? source.size : source.length}-byte buffer>`);
  // The message of Node's ImageDecodeError (whose module loads sharp), with the same code.
  const fail = (reason: string): never => {
    throw new CamscopeError("IMAGE_DECODE", `Cannot decode image "${name}": ${reason}`);
  };
  const bytes = source instanceof Blob ? new Uint8Array(await source.arrayBuffer()) : source;
  if (bytes.length === 0) fail("file is empty");
  const type = SIGNATURES.find(([, matches]) => matches(bytes))?.[0];
  if (!type) return fail("unsupported image format (supported: PNG, JPEG, WebP)");
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type }), {
      colorSpaceConversion: options.colorManagement ? "default" : "none",
      premultiplyAlpha: "none",
      imageOrientation: "from-image",
    });
  } catch (error) {
    return fail(`corrupt or truncated image data (${(error as Error).message})`);
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context) return fail("the browser gave no 2D canvas to decode into");
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, width, height).data;
    return { width, height, data: flatten(rgba, options.background ?? [255, 255, 255]) };
  } finally {
    bitmap.close();
  }
}

/**
 * RGBA to RGB over a background, rounding as libvips' flatten does (what sharp's flatten runs):
 * (c * a + bg * (255 - a)) / 255, rounded to nearest.
 */
export function flatten(
  rgba: Uint8ClampedArray | Uint8Array,
  background: readonly number[],
): Uint8Array {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const v = rgba[i * 4 + c]!;
      rgb[i * 3 + c] = a === 255 ? v : Math.round((v * a + background[c]! * (255 - a)) / 255);
    }
  }
  return rgb;
}

/** The image as canvas pixels (opaque RGBA). */
export function toImageData(image: RgbImage): ImageData {
  assertRgbImage(image);
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0, j = 0; i < image.data.length; i += 3, j += 4) {
    rgba[j] = image.data[i]!;
    rgba[j + 1] = image.data[i + 1]!;
    rgba[j + 2] = image.data[i + 2]!;
    rgba[j + 3] = 255;
  }
  return new ImageData(rgba, image.width, image.height);
}

/** Encodes an image as a PNG file's bytes through an OffscreenCanvas. */
export async function encodePngBytes(image: RgbImage): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext("2d");
  if (!context) throw new Error("the browser gave no 2D canvas to encode with");
  context.putImageData(toImageData(image), 0, 0);
  const blob = await canvas.convertToBlob({ type: "image/png" });
  return new Uint8Array(await blob.arrayBuffer());
}
