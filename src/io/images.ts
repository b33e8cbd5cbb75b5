// Decoding image files into RgbImage with sharp (Node only).
import sharp from "sharp";
import type { RgbImage } from "../image/types.ts";
import { CamscopeError } from "../errors.ts";
import { IMAGE_FILE_LIMIT, readRegularFile } from "../util/files.ts";
import { describe } from "../util/validate.ts";

/** The formats camscope promises to read; browsers decode all three natively too. */
const SUPPORTED_FORMATS = new Set(["png", "jpeg", "webp"]);

/** Thrown for any source that cannot be turned into an image; names the file and the reason. */
export class ImageDecodeError extends CamscopeError {
  /** The file path, or the label given for a buffer. */
  readonly source: string;
  /** Why it could not be decoded. */
  readonly reason: string;

  constructor(source: string, reason: string) {
    super("IMAGE_DECODE", `Cannot decode image "${source}": ${reason}`);
    this.name = "ImageDecodeError";
    this.source = source;
    this.reason = reason;
  }
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /**
   * Convert pixels from an embedded ICC profile (Display P3, Adobe RGB, ...) to sRGB. Off by
   * default: PIL, and so torchvision's loaders, ignore profiles, and a model was trained on the
   * tensors they make; converting would feed it colours up to ~43/255 away from those.
   */
  colorManagement?: boolean;
  /**
   * Colour that transparent pixels are composited onto, as [r, g, b] bytes. Defaults to white,
   * which is what a viewer shows for a transparent PNG on a page and keeps transparent regions
   * from reading as dark "object" to a classifier trained on photos.
   */
  background?: readonly [number, number, number];
}

/**
 * Decodes a PNG, JPEG or WebP file (path) or its bytes into 8-bit RGB.
 *
 * - EXIF orientation is applied, so the pixels are the way a viewer shows the photo.
 * - Alpha is flattened onto `options.background` (white by default).
 * - Grayscale is expanded to RGB; 16-bit images are reduced to 8 bits.
 * - An embedded ICC profile is ignored, as Pillow's Image.convert("RGB") ignores it, so the bytes
 *   equal a PIL + torchvision pipeline's; `colorManagement: true` converts to sRGB instead. CMYK
 *   files are converted with libvips' CMYK profile, which PIL does not do the same way.
 * - Animated images give their first frame.
 *
 * Anything that is not a readable image throws an Error naming the file and the reason, e.g.
 * `Cannot decode image "notes.txt": unsupported image format`. `label` names an in-memory source
 * in such messages.
 */
export async function decodeImage(
  source: string | Uint8Array,
  label?: string,
  options: DecodeOptions = {},
): Promise<RgbImage> {
  const name =
    label ??
    (typeof source === "string"
      ? source
      : source instanceof Uint8Array
        ? `<${source.length}-byte buffer>`
        : "<image>");
  const fail = (reason: string): never => {
    throw new ImageDecodeError(name, reason);
  };

  let bytes: Uint8Array;
  if (typeof source === "string") {
    // A regular file under the size limit: a FIFO or /dev/zero is refused before reading.
    const read = await readRegularFile(source, IMAGE_FILE_LIMIT);
    if ("reason" in read) return fail(read.reason);
    bytes = read.bytes;
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    return fail(`expected a file path or the file's bytes (Uint8Array), got ${describe(source)}`);
  }
  if (bytes.length === 0) fail("file is empty");

  const [r, g, b] = options.background ?? [255, 255, 255];
  try {
    // sharp's default failOn ("warning") rejects truncated or damaged data rather than returning
    // a partly grey picture.
    const input = { ignoreIcc: !(options.colorManagement ?? false) };
    const format = (await sharp(bytes, input).metadata()).format;
    if (!SUPPORTED_FORMATS.has(format)) {
      fail(`unsupported image format "${format}" (supported: PNG, JPEG, WebP)`);
    }
    const { data, info } = await sharp(bytes, input)
      .autoOrient()
      .flatten({ background: { r, g, b } })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) fail(`decoder produced ${info.channels} channels instead of 3`);
    // A plain Uint8Array view: callers get the documented type, not a Node Buffer.
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    return fail(describeSharpError(err));
  }
}

/** Options of {@link readImages}. */
export interface ReadImagesOptions extends DecodeOptions {
  /** How many files are read and decoded at once (default 8), bounding open files and memory. */
  concurrency?: number;
}

/**
 * Decodes several image files concurrently, returning them in the order given. sharp decodes on
 * libuv's thread pool, so a few decodes in flight keep the cores busy. The first failure rejects
 * with that file's decode error.
 */
export async function readImages(
  paths: readonly string[],
  options: ReadImagesOptions = {},
): Promise<RgbImage[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const results: RgbImage[] = new Array(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      results[index] = await decodeImage(paths[index]!, undefined, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results;
}

function describeSharpError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message)) return "unsupported image format";
  if (/pixel limit/i.test(message)) return "image too large (over sharp's pixel limit)";
  return `corrupt or truncated image data (${message.trim()})`;
}
