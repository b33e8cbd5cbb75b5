// Every pixel-attribution method by CLI name. Methods with options are built from one options
// object, so the CLI's flags reach every method that reads them.
import { CamscopeError } from "../../errors.ts";
import type { AttributionMethod } from "../method.ts";
import {
  deconvnetMethod,
  gradient,
  gradientXInput,
  guidedBackpropMethod,
  guidedGradCam,
  saliency,
} from "./gradient.ts";
import { integratedGradients, type IntegratedGradientsOptions } from "./integrated-gradients.ts";
import { lrp, type LrpOptions } from "./lrp.ts";
import { occlusion, type OcclusionOptions } from "./occlusion.ts";
import { rise, type RiseOptions } from "./rise.ts";
import { smoothGrad, smoothGradSquared, varGrad, type SmoothGradOptions } from "./smoothgrad.ts";
import { checkNames } from "../../util/validate.ts";

/** Options of the pixel-attribution methods that take any, by method. */
export interface AttributionMethodOptions {
  /** Integrated Gradients. */
  integratedGradients?: IntegratedGradientsOptions;
  /** SmoothGrad, SmoothGrad-squared and VarGrad. */
  smoothGrad?: SmoothGradOptions;
  /** Occlusion. */
  occlusion?: OcclusionOptions;
  /** RISE. */
  rise?: RiseOptions;
  /** LRP. */
  lrp?: LrpOptions;
}

/** The name that selects every pixel-attribution method. */
export const ALL_ATTRIBUTION = "pixel";

/** All methods, in the order reports list them. */
export function attributionMethods(options: AttributionMethodOptions = {}): AttributionMethod[] {
  return [
    saliency,
    gradient,
    gradientXInput,
    guidedBackpropMethod,
    deconvnetMethod,
    guidedGradCam,
    integratedGradients(options.integratedGradients),
    smoothGrad(options.smoothGrad),
    smoothGradSquared(options.smoothGrad),
    varGrad(options.smoothGrad),
    occlusion(options.occlusion),
    rise(options.rise),
    lrp(options.lrp),
  ];
}

/** The CLI names of every pixel-attribution method. */
export const ATTRIBUTION_METHOD_NAMES: readonly string[] = attributionMethods().map((m) => m.name);

/** Methods by name ("pixel" for every one); an unknown name lists the valid ones. */
export function resolveAttributionMethods(
  names: readonly string[],
  options: AttributionMethodOptions = {},
): AttributionMethod[] {
  checkNames(names, "pixel-attribution method names");
  const all = attributionMethods(options);
  if (names.length === 1 && names[0] === ALL_ATTRIBUTION) return all;
  return names.map((name) => {
    const m = all.find((x) => x.name === name.toLowerCase());
    if (!m) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Unknown pixel-attribution method "${name}". Valid: ${all.map((x) => x.name).join(", ")}, ${ALL_ATTRIBUTION}`,
      );
    }
    return m;
  });
}
