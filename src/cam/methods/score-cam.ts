// Score-CAM (Wang et al. 2020) and its smoothed variants SS-CAM and IS-CAM. A channel's weight is
// how much the target likes the input masked by that channel's feature map: H_k =
// minmax(up(A_k)) masks every colour channel of X, and the weights are the softmax over channels
// of the (averaged) target scores of the masked inputs. The variants average over noisy (SS-CAM)
// or scaled (IS-CAM) copies of each mask; all three share the batched scoring below.
import { resolveOptions, type OptionSpec } from "../../util/options.ts";
import { createRng, deriveSeed } from "../../util/random.ts";
import { layerDims, type CamRun, type WeightsMethod } from "../method.ts";
import { maskInput, scoreInChunks, upsampledMasks } from "../perturbation.ts";
import { softmaxRows } from "../../tensor/maps.ts";

/**
 * The mask of copy j of channel k of target row i, from H_k (`base`, [H*W]): `base` itself or
 * `scratch` filled with the variant.
 */
type MaskVariant = (
  row: number,
  k: number,
  j: number,
  base: Float32Array,
  scratch: Float32Array,
) => Float32Array;

/**
 * w = softmax_k((1/n) sum_j s(X * variant_j(H_k))) for n = `copies`: K * n forward passes per row.
 * Masks are upsampled only for the channels of the chunk being built.
 */
async function maskScoreWeights(
  run: CamRun,
  copies: number,
  variant: MaskVariant,
): Promise<Float32Array> {
  const [rows, channels, h, w] = layerDims(run.activations);
  const [, colours, height, width] = run.input.dims as [number, number, number, number];
  const area = height * width;
  const inputSize = colours * area;
  const layerArea = h * w;
  const scratch = new Float32Array(area);
  const build = (i: number, start: number, end: number, out: Float32Array): void => {
    const kFirst = Math.floor(start / copies);
    const kEnd = Math.floor((end - 1) / copies) + 1;
    const maps = run.activations.data.subarray(
      (i * channels + kFirst) * layerArea,
      (i * channels + kEnd) * layerArea,
    );
    const masks = upsampledMasks(maps, kEnd - kFirst, [h, w], [height, width]);
    const x = run.input.data.subarray(i * inputSize, (i + 1) * inputSize);
    for (let q = start; q < end; q++) {
      const k = Math.floor(q / copies);
      const base = masks.subarray((k - kFirst) * area, (k - kFirst + 1) * area);
      const o = (q - start) * inputSize;
      maskInput(x, variant(i, k, q % copies, base, scratch), out.subarray(o, o + inputSize));
    }
  };
  const scores = await scoreInChunks(rows, channels * copies, inputSize, build, (items, perRow) =>
    run.scoreInputs(items, perRow),
  );
  const mean = new Float32Array(rows * channels);
  for (let j = 0; j < mean.length; j++) {
    let sum = 0;
    for (let r = 0; r < copies; r++) sum += scores[j * copies + r]!;
    mean[j] = sum / copies;
  }
  return softmaxRows(mean, rows);
}

/** Score-CAM: s_k = s(X * H_k); K forward passes per target. */
export const scoreCam: WeightsMethod = {
  name: "scorecam",
  title: "Score-CAM",
  kind: "weights",
  needsGradients: false,
  weights: (run) => maskScoreWeights(run, 1, (_i, _k, _j, base) => base),
};

/** SS-CAM's options, declared once (validation, CLI flags, run configurations). */
export const SSCAM_OPTIONS: readonly OptionSpec[] = [
  {
    name: "samples",
    flag: "sscam-samples",
    kind: "integer",
    default: 8,
    min: 1,
    help: "sscam: noisy copies of each channel's mask",
  },
  {
    name: "sigma",
    flag: "sscam-sigma",
    kind: "number",
    default: 0.5,
    min: 0,
    help: "sscam: standard deviation of the mask noise (masks lie in [0, 1])",
  },
];

/** Options of SS-CAM. */
export interface SsCamOptions {
  /** Noisy copies per channel, n. Default 8. */
  samples?: number;
  /** Standard deviation of the mask noise (masks lie in [0, 1]). Default 0.5. */
  sigma?: number;
}

/**
 * SS-CAM (Wang et al. 2020, "smoothed Score-CAM"), noise on the mask: s_k = (1/n) sum_j
 * s(X * (H_k + e_kj)), e_kj[p] = sigma * normal per pixel, shared by the colour channels, drawn in
 * row-major pixel order from createRng(deriveSeed(seed, row, k, j)) so that every mask's noise is
 * reproducible on its own, whatever the chunking. K * n forward passes per target.
 */
export function ssCam(options: SsCamOptions = {}): WeightsMethod {
  const { samples, sigma } = resolveOptions<Required<SsCamOptions>>("SS-CAM", SSCAM_OPTIONS, {
    ...options,
  });
  return {
    name: "sscam",
    title: "SS-CAM",
    kind: "weights",
    needsGradients: false,
    weights: (run) =>
      maskScoreWeights(run, samples, (i, k, j, base, scratch) => {
        const rng = createRng(deriveSeed(run.seed, i, k, j));
        // The noise is rounded to float32 before the sum, as a float32 noise tensor would be.
        for (let p = 0; p < base.length; p++)
          scratch[p] = base[p]! + Math.fround(sigma * rng.normal());
        return scratch;
      }),
  };
}

/** IS-CAM's options, declared once (validation, CLI flags, run configurations). */
export const ISCAM_OPTIONS: readonly OptionSpec[] = [
  {
    name: "steps",
    flag: "iscam-steps",
    kind: "integer",
    default: 8,
    min: 1,
    help: "iscam: integration steps from the black input to the masked one",
  },
];

/** Options of IS-CAM. */
export interface IsCamOptions {
  /** Integration steps n. Default 8. */
  steps?: number;
}

/**
 * IS-CAM (Naidu et al. 2020, "integrated Score-CAM"): s_k = (1/n) sum_{t=1..n} s(X * (t/n) H_k),
 * the score averaged along the path from the black input to the masked one. K * n forward passes.
 */
export function isCam(options: IsCamOptions = {}): WeightsMethod {
  const { steps } = resolveOptions<Required<IsCamOptions>>("IS-CAM", ISCAM_OPTIONS, { ...options });
  return {
    name: "iscam",
    title: "IS-CAM",
    kind: "weights",
    needsGradients: false,
    weights: (run) =>
      maskScoreWeights(run, steps, (_i, _k, j, base, scratch) => {
        const scale = Math.fround((j + 1) / steps);
        for (let p = 0; p < base.length; p++) scratch[p] = scale * base[p]!;
        return scratch;
      }),
  };
}
