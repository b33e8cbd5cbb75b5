// `camscope explain --method`: names split into CAM methods and pixel-attribution methods, and
// the pixel methods' options built from the command's flags.
import { readFile } from "node:fs/promises";
import { ALL_ATTRIBUTION, ATTRIBUTION_METHOD_NAMES } from "../attribution/methods/index.ts";
import { resolveAttributionMethods } from "../attribution/methods/index.ts";
import type { AttributionMethod } from "../attribution/method.ts";
import { BASELINE_KINDS, type Baseline, type BaselineKind } from "../attribution/baselines.ts";
import type { CamMethod } from "../cam/method.ts";
import { camMethods, resolveMethods } from "../cam/methods/index.ts";
import { decodeNpy } from "../tensor/npy.ts";
import { resolveComposite } from "../compiler/lrp/composites.ts";
import { CamscopeError } from "../errors.ts";
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
  const pixel = pixelNames.length
    ? resolveAttributionMethods(
        expand(pixelNames, ALL_ATTRIBUTION, () => [...ATTRIBUTION_METHOD_NAMES]),
        {
          integratedGradients: {
            steps: options.steps,
            baseline: await readBaseline(options.baseline),
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
        },
      )
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

/** --baseline: a named baseline, or a float32 .npy tensor in the model input's space. */
async function readBaseline(value: string): Promise<Baseline> {
  if ((BASELINE_KINDS as readonly string[]).includes(value)) return value as BaselineKind;
  if (!value.endsWith(".npy")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--baseline "${value}" is neither ${BASELINE_KINDS.join(", ")} nor a .npy file`,
    );
  }
  try {
    return decodeNpy(await readFile(value));
  } catch (error) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot read the --baseline tensor "${value}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}
