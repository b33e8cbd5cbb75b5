// Integrated Gradients' baselines x', one per target row, in the model-input (preprocessed)
// space:
// - "black": the preprocessed black image (for ImageNet normalisation that is -mean/std per
//   channel, not zero: "no signal" is a black picture, not a zero tensor);
// - "blur": the row's input blurred per channel by an 11 x 11 Gaussian of sigma 5 (the RISE
//   insertion blur of src/metrics/deletion-insertion.ts, zero padding);
// - "uniform": every value drawn uniformly between the preprocessed black and white of its
//   channel (a random image), from createRng(deriveSeed(seed, row)), in [C, H, W] order;
// - a custom tensor: [C, H, W] or [1, C, H, W] for every row, or [N, C, H, W] one per image.
import { CamscopeError } from "../errors.ts";
import { preprocess, type PreprocessSpec } from "../image/preprocess.ts";
import { createRng, deriveSeed } from "../util/random.ts";
import type { AttributionRun } from "./method.ts";
import { sizeOf, type FloatTensor } from "../tensor/tensor.ts";
import { gaussianBlur } from "../image/blur.ts";

/**
 * A computed Integrated Gradients baseline: `black` (the preprocessed black image), `blur` (the
 * input blurred by an 11 x 11 Gaussian of sigma 5) or `uniform` (a seeded random image).
 */
export type BaselineKind = "black" | "blur" | "uniform";
export const BASELINE_KINDS: readonly BaselineKind[] = ["black", "blur", "uniform"];
/**
 * Integrated Gradients' baseline x': a {@link BaselineKind}, or a tensor in model-input space,
 * [C, H, W] or [1, C, H, W] for every row or [N, C, H, W] one per image.
 */
export type Baseline = BaselineKind | FloatTensor;

/** The preprocessed tensor [C, H, W] of an image of one colour (byte value) at the input size. */
export function solidImage(spec: PreprocessSpec, value: number): Float32Array {
  const [height, width] = spec.size;
  const data = new Uint8Array(width * height * 3).fill(value);
  return preprocess([{ width, height, data }], spec).tensor;
}

/** x' for every row of `run.input`, [R, C, H, W]. */
export function baselineInputs(baseline: Baseline, run: AttributionRun): Float32Array {
  const { data, dims } = run.input;
  const rows = dims[0]!;
  const itemDims = dims.slice(1);
  const size = sizeOf(itemDims);
  const out = new Float32Array(rows * size);
  const spec = run.runtime.card.preprocessing;
  if (typeof baseline !== "string") {
    const perImage = customRows(baseline, itemDims, run);
    for (let r = 0; r < rows; r++) out.set(perImage(r), r * size);
    return out;
  }
  switch (baseline) {
    case "black": {
      const black = solidImage(spec, 0);
      for (let r = 0; r < rows; r++) out.set(black, r * size);
      return out;
    }
    case "blur":
      for (let r = 0; r < rows; r++) {
        const x = data.subarray(r * size, (r + 1) * size);
        out.set(gaussianBlur(x, itemDims as [number, number, number]), r * size);
      }
      return out;
    case "uniform": {
      const black = solidImage(spec, 0);
      const white = solidImage(spec, 255);
      for (let r = 0; r < rows; r++) {
        const rng = createRng(deriveSeed(run.seed, r));
        for (let e = 0; e < size; e++) {
          out[r * size + e] = black[e]! + rng.next() * (white[e]! - black[e]!);
        }
      }
      return out;
    }
    default:
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Unknown baseline "${String(baseline)}" (valid: ${BASELINE_KINDS.join(", ")}, or a tensor)`,
      );
  }
}

/** A custom baseline's row for target row r. */
function customRows(
  tensor: FloatTensor,
  itemDims: readonly number[],
  run: AttributionRun,
): (r: number) => Float32Array {
  const size = sizeOf(itemDims);
  const images = run.targets.image.reduce((m, i) => Math.max(m, i + 1), 0);
  const shape = tensor.dims.join("x");
  const item = itemDims.join("x");
  let count = 0;
  if (shape === item) count = 1;
  else if (tensor.dims.slice(1).join("x") === item) count = tensor.dims[0]!;
  if (tensor.data.length !== count * size || (count !== 1 && count < images)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `The baseline tensor is [${tensor.dims.join(", ")}]; expected [${itemDims.join(", ")}] for every image or [${images}, ${itemDims.join(", ")}], one per image`,
    );
  }
  return (r) => {
    const i = count === 1 ? 0 : run.targets.image[r]!;
    return tensor.data.subarray(i * size, (i + 1) * size);
  };
}
