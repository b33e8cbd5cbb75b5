// Carrying a record's annotations from the original image into the model-input frame, the way
// the localization code carries a map's peak back (inputToOriginal): input pixel (x, y) belongs to
// the original pixel whose area holds its centre, mapped through the resize and the crop.
import { CamscopeError } from "../errors.ts";
import type { InputTransform } from "../image/types.ts";
import type { DatasetRecord } from "./types.ts";
import type { Box } from "../image/regions.ts";
import type { InputRegions } from "../image/regions.ts";

/** Original coordinate of the centre of input pixel i along one axis. */
function centre(i: number, crop: number, resized: number, original: number): number {
  return ((i + crop + 0.5) * original) / resized;
}

/**
 * The input pixels [from, to) whose centres fall in original pixels [lo, hi) along one axis:
 * centre(i) >= lo  <=>  i >= lo * resized / original - crop - 0.5.
 */
function axisRange(
  lo: number,
  hi: number,
  crop: number,
  resized: number,
  original: number,
  size: number,
): [number, number] {
  const first = (v: number) => Math.ceil((v * resized) / original - crop - 0.5 - 1e-9);
  return [Math.max(0, first(lo)), Math.min(size, first(hi))];
}

/** A box in the input frame, or undefined when the crop cut it away entirely. */
export function boxToInput(box: Box, t: InputTransform): Box | undefined {
  const [x0, x1] = axisRange(
    box.x0,
    box.x1,
    t.cropLeft,
    t.resizedWidth,
    t.originalWidth,
    t.inputWidth,
  );
  const [y0, y1] = axisRange(
    box.y0,
    box.y1,
    t.cropTop,
    t.resizedHeight,
    t.originalHeight,
    t.inputHeight,
  );
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : undefined;
}

/**
 * An original-size mask sampled at the input pixels' centres; input pixels outside the resized
 * image (a crop larger than the image pads with black) are 0.
 */
export function maskToInput(mask: Uint8Array, t: InputTransform): Uint8Array {
  const out = new Uint8Array(t.inputWidth * t.inputHeight);
  const source = (i: number, crop: number, resized: number, original: number) => {
    const c = centre(i, crop, resized, original);
    return c < 0 || c >= original ? -1 : Math.floor(c);
  };
  const xs = Int32Array.from({ length: t.inputWidth }, (_, x) =>
    source(x, t.cropLeft, t.resizedWidth, t.originalWidth),
  );
  for (let y = 0; y < t.inputHeight; y++) {
    const sy = source(y, t.cropTop, t.resizedHeight, t.originalHeight);
    if (sy < 0) continue;
    for (let x = 0; x < t.inputWidth; x++) {
      const sx = xs[x]!;
      if (sx >= 0) out[y * t.inputWidth + x] = mask[sy * t.originalWidth + sx]! !== 0 ? 1 : 0;
    }
  }
  return out;
}

/** Boxes and mask of a record in the model-input frame (after the preprocessing's resize/crop). */
export async function regionsInInput(
  record: DatasetRecord,
  original: { width: number; height: number },
  transform: InputTransform,
): Promise<InputRegions> {
  if (original.width !== transform.originalWidth || original.height !== transform.originalHeight) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Record "${record.id}": image is ${original.width}x${original.height} but its transform starts from ${transform.originalWidth}x${transform.originalHeight}`,
    );
  }
  const t = transform;
  const boxes = (record.boxes ?? []).map((b) => boxToInput(b, t)).filter((b) => b !== undefined);
  if (!record.mask) return { boxes };
  return { boxes, mask: maskToInput(await record.mask(original.width, original.height), t) };
}
