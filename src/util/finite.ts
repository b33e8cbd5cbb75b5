// NaN and Inf detection. A model that overflows or divides by zero gives NaN logits, activations
// or gradients; a map computed from them is NaN too, and min-max normalisation would quietly turn
// it into zeros. Every stage checks its values per row and names the images whose values are not
// finite, so that callers can report those images and go on with the others.
import { CamscopeError } from "../errors.ts";

/** NaN or Inf in some images' values; `images` are indices into the batch given. */
export class NonFiniteError extends CamscopeError {
  readonly images: number[];
  /** What held the values, e.g. `the logits of model "resnet.onnx"`. */
  readonly what: string;
  /** "NaN", "Inf" or "NaN and Inf". */
  readonly found: string;

  constructor(what: string, images: number[], found: string) {
    const list = images.length <= 8 ? images.join(", ") : `${images.slice(0, 8).join(", ")}, ...`;
    super(
      "NON_FINITE",
      `${what[0]!.toUpperCase()}${what.slice(1)} hold ${found} for image${images.length > 1 ? "s" : ""} ${list} of the batch`,
    );
    this.name = "NonFiniteError";
    this.images = images;
    this.what = what;
    this.found = found;
  }
}

/**
 * Throws a NonFiniteError when a row of `data` (rows of equal size) holds NaN or Inf; row r
 * belongs to image `imageOf(r)` (default: r).
 */
export function checkFiniteRows(
  data: ArrayLike<number>,
  rows: number,
  what: string,
  imageOf: (row: number) => number = (r) => r,
): void {
  if (rows === 0) return;
  const size = data.length / rows;
  const images = new Set<number>();
  let nan = false;
  let inf = false;
  for (let r = 0; r < rows; r++) {
    for (let j = r * size; j < (r + 1) * size; j++) {
      const v = data[j]!;
      if (v - v !== 0) {
        // NaN - NaN and Inf - Inf are both NaN: one comparison for the common, finite case.
        if (Number.isNaN(v)) nan = true;
        else inf = true;
        images.add(imageOf(r));
        break;
      }
    }
  }
  if (images.size > 0) {
    const found = nan && inf ? "NaN and Inf" : nan ? "NaN" : "Inf";
    throw new NonFiniteError(
      what,
      [...images].sort((a, b) => a - b),
      found,
    );
  }
}
