// COCO's uncompressed run-length encoding of binary masks: run lengths over the mask read in
// column-major (Fortran) order, alternating background and object and starting with background
// (a zero-length first run when the first pixel is set); size is [height, width].
import { CamscopeError } from "../../errors.ts";

export interface UncompressedRle {
  counts: number[];
  size: [height: number, width: number];
}

/** Encodes a row-major height × width 0/1 mask. */
export function encodeRle(mask: Uint8Array, width: number, height: number): UncompressedRle {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const bit = mask[y * width + x] === 1 ? 1 : 0;
      if (bit !== current) {
        counts.push(run);
        current = bit;
        run = 0;
      }
      run++;
    }
  }
  counts.push(run);
  return { counts, size: [height, width] };
}

/** Decodes back to a row-major height × width 0/1 mask. */
export function decodeRle(rle: UncompressedRle): Uint8Array {
  const [height, width] = rle.size;
  const mask = new Uint8Array(width * height);
  let position = 0;
  rle.counts.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let p = position; p < position + run; p++) {
        mask[(p % height) * width + Math.floor(p / height)] = 1;
      }
    }
    position += run;
  });
  if (position !== width * height) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `RLE covers ${position} pixels, expected ${width * height}`,
    );
  }
  return mask;
}
