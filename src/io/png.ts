// Encoding RgbImage as PNG with sharp (Node only).
import sharp from "sharp";
import type { RgbImage } from "../image/types.ts";
import { assertRgbImage } from "../image/types.ts";
import { writeOutputFile } from "../util/files.ts";

/** Encodes an image as an 8-bit RGB PNG. */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  assertRgbImage(image);
  const buffer = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** Writes an image as a PNG file, creating missing parent folders. */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  const bytes = await encodePng(image);
  await writeOutputFile(path, bytes);
}
