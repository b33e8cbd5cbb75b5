// RISE's blur: a separable Gaussian per channel of a model-input tensor [C, H, W], zero padding.
// The Insertion metric starts from it and Integrated Gradients offers it as a baseline.

const BLUR_KERNEL = 11;
const BLUR_SIGMA = 5;

/** Separable Gaussian blur of each channel of one image [C, H, W], zero padding. */
export function gaussianBlur(
  image: Float32Array,
  [channels, height, width]: readonly [number, number, number],
  size = BLUR_KERNEL,
  sigma = BLUR_SIGMA,
): Float32Array {
  const r = Math.floor(size / 2);
  const kernel = Array.from({ length: size }, (_, i) =>
    Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)),
  );
  const total = kernel.reduce((a, b) => a + b, 0);
  const k = kernel.map((v) => v / total);
  const rows = new Float32Array(image.length);
  const out = new Float32Array(image.length);
  for (let c = 0; c < channels; c++) {
    const o = c * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let i = Math.max(0, r - x); i < Math.min(size, width + r - x); i++) {
          s += k[i]! * image[o + y * width + x + i - r]!;
        }
        rows[o + y * width + x] = s;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let i = Math.max(0, r - y); i < Math.min(size, height + r - y); i++) {
          s += k[i]! * rows[o + (y + i - r) * width + x]!;
        }
        out[o + y * width + x] = s;
      }
    }
  }
  return out;
}
