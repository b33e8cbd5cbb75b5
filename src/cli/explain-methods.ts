// `camscope explain --method`: names split into CAM methods and pixel-attribution methods, and
// the pixel methods' options built from the command's flags.
import { ALL_ATTRIBUTION, ATTRIBUTION_METHOD_NAMES } from "../attribution/methods/index.ts";
import { resolveAttributionMethods } from "../attribution/methods/index.ts";
import type { AttributionMethod } from "../attribution/method.ts";
import { BASELINE_KINDS, type Baseline, type BaselineKind } from "../attribution/baselines.ts";
import type { CamMethod } from "../cam/method.ts";
import { camMethods, resolveMethods } from "../cam/methods/index.ts";
import { decodeNpy } from "../cam/npy.ts";
import { resolveComposite } from "../compiler/lrp/composites.ts";
import { coverageProblem } from "../attribution/methods/occlusion.ts";
import type { FloatTensor } from "../compiler/backward-session.ts";
import { CamscopeError } from "../errors.ts";
import { NPY_FILE_LIMIT, readInputFile } from "../util/files.ts";
import type { RelevanceStart } from "../lrp/relevance.ts";
import type { OnnxModel } from "../onnx/model.ts";

export interface PixelCliOptions {
  steps: number;
  /** black, blur, uniform or a .npy file. */
  baseline: string;
  samples: number;
  noise: number;
  window: number;
  stride: number;
  occlusionValue: number;
  masks: number;
  cells: number;
  keepProbability: number;
  /** lrp: composite name or one rule. */
  composite: string;
  lrpStart: RelevanceStart;
}

/**
 * The CAM and pixel-attribution methods named ("all": every CAM method, "pixel": every
 * pixel-attribution method; both may be combined with other names), and which CAM methods were
 * named one by one.
 */
export async function splitMethods(
  model: OnnxModel,
  names: readonly string[],
  options: PixelCliOptions,
  inputDims?: readonly number[],
): Promise<{ cam: CamMethod[]; pixel: AttributionMethod[]; named: Set<string> }> {
  const camNames: string[] = [];
  const pixelNames: string[] = [];
  const cams = camMethods(model).map((m) => m.name);
  for (const raw of names) {
    const name = raw.toLowerCase();
    if (name === "all" || cams.includes(name)) camNames.push(name);
    else if (name === ALL_ATTRIBUTION || ATTRIBUTION_METHOD_NAMES.includes(name))
      pixelNames.push(name);
    else {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Unknown method "${raw}". CAM methods: ${cams.join(", ")}, all. Pixel-attribution methods: ${ATTRIBUTION_METHOD_NAMES.join(", ")}, ${ALL_ATTRIBUTION}`,
      );
    }
  }
  const expand = (list: string[], every: string, all: () => string[]) =>
    list.includes(every) ? [...new Set(list.flatMap((n) => (n === every ? all() : [n])))] : list;
  const cam = camNames.length
    ? resolveMethods(
        model,
        expand(camNames, "all", () => cams),
      )
    : [];
  const pixelList = expand(pixelNames, ALL_ATTRIBUTION, () => [...ATTRIBUTION_METHOD_NAMES]);
  if (inputDims) checkAgainstInput(pixelList, options, inputDims);
  const pixel = pixelNames.length
    ? resolveAttributionMethods(pixelList, {
        integratedGradients: {
          steps: options.steps,
          baseline: await readBaseline(
            options.baseline,
            pixelList.includes("ig") ? inputDims : undefined,
          ),
        },
        smoothGrad: { samples: options.samples, noise: options.noise },
        occlusion: {
          window: options.window,
          stride: options.stride,
          value: options.occlusionValue,
        },
        rise: {
          masks: options.masks,
          cells: options.cells,
          probability: options.keepProbability,
        },
        lrp: { composite: checkedComposite(options.composite), start: options.lrpStart },
      })
    : [];
  // Methods asked for by name, as opposed to through "all": they must apply to the layers.
  const named = new Set(camNames.filter((n) => n !== "all"));
  return { cam, pixel, named };
}

/** --composite, checked before any image is read (an unknown name lists the valid ones). */
function checkedComposite(name: string): string {
  resolveComposite(name);
  return name;
}

/**
 * The options that must fit the model's input [1, C, H, W], checked before any image is read:
 * occlusion windows that cover every pixel, RISE cells of at least a pixel.
 */
function checkAgainstInput(
  methods: readonly string[],
  options: PixelCliOptions,
  inputDims: readonly number[],
): void {
  const [height, width] = inputDims.slice(-2) as [number, number];
  if (methods.includes("occlusion")) {
    for (const side of [height, width]) {
      if (coverageProblem(side, options.window, options.stride)) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `--stride ${options.stride} is longer than --window ${options.window}: pixels between occlusion windows would be covered by none (the input is ${height}x${width}; give a --stride from 1 to ${options.window})`,
        );
      }
    }
  }
  if (methods.includes("rise") && options.cells > Math.min(height, width)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--cells ${options.cells} is out of range: must be an integer from 1 to ${Math.min(height, width)} (a cell is at least a pixel of the ${height}x${width} input)`,
    );
  }
}

/**
 * --baseline: a named baseline, or a float32 .npy tensor in the model input's space ([C, H, W]
 * of `inputDims` [1, C, H, W] when given), every value finite.
 */
async function readBaseline(value: string, inputDims?: readonly number[]): Promise<Baseline> {
  if ((BASELINE_KINDS as readonly string[]).includes(value)) return value as BaselineKind;
  if (!value.endsWith(".npy")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--baseline "${value}" is neither ${BASELINE_KINDS.join(", ")} nor a .npy file`,
    );
  }
  const bytes = await readInputFile(value, {
    what: "the --baseline tensor",
    limit: NPY_FILE_LIMIT,
    code: "INVALID_ARGUMENT",
  });
  let tensor: FloatTensor;
  try {
    tensor = decodeNpy(bytes);
  } catch (error) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot read the --baseline tensor "${value}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const want = inputDims?.slice(1);
  if (want && tensor.dims.join("x") !== want.join("x")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--baseline "${value}" is [${tensor.dims.join(", ")}], but the model input is [${want.join(", ")}] (C, H, W)`,
    );
  }
  if (!tensor.data.every(Number.isFinite)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--baseline "${value}" holds NaN or Inf values; every value must be finite`,
    );
  }
  return tensor;
}
