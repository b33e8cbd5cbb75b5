// Every CAM method by CLI name. CAM reads the model's head weights, so methods are built per model.
import { CamscopeError } from "../../errors.ts";
import type { LayerInfo } from "../../onnx/layers.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { CamMethod } from "../method.ts";
import { ablationCam } from "./ablation-cam.ts";
import { camMethod } from "./cam.ts";
import { clusterCam } from "./cluster-cam.ts";
import { eigenCam, eigenGradCam } from "./eigen-cam.ts";
import { gradCamElementWise, hiResCam, layerCam } from "./element-wise.ts";
import { gradCamPlusPlus } from "./grad-cam-plus-plus.ts";
import { gradCam } from "./grad-cam.ts";
import { relevanceCam } from "./relevance-cam.ts";
import { isCam, scoreCam, ssCam } from "./score-cam.ts";
import { xgradCam } from "./xgrad-cam.ts";
import { checkNames } from "../../util/validate.ts";

/** All methods for a model, in the order reports list them. */
export function camMethods(model: OnnxModel): CamMethod[] {
  return [
    camMethod(model),
    gradCam,
    gradCamPlusPlus,
    xgradCam,
    hiResCam,
    gradCamElementWise,
    layerCam,
    eigenCam,
    eigenGradCam,
    scoreCam,
    ssCam(),
    isCam(),
    ablationCam,
    clusterCam(),
    relevanceCam(),
  ];
}

/** Methods by name ("all" for every one); an unknown name lists the valid ones. */
export function resolveMethods(model: OnnxModel, names: readonly string[]): CamMethod[] {
  checkNames(names, "CAM method names");
  const all = camMethods(model);
  if (names.length === 1 && names[0] === "all") return all;
  return names.map((name) => {
    const m = all.find((x) => x.name === name.toLowerCase());
    if (!m) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Unknown CAM method "${name}". Valid: ${all.map((x) => x.name).join(", ")}, all`,
      );
    }
    return m;
  });
}

/**
 * The methods that apply to every one of `layers`, and why the others do not: `--method all`
 * leaves out CAM on a head it is not defined for rather than failing the whole run.
 */
export function applicableMethods(
  methods: readonly CamMethod[],
  layers: readonly LayerInfo[],
): { methods: CamMethod[]; skipped: { method: CamMethod; why: string }[] } {
  const kept: CamMethod[] = [];
  const skipped: { method: CamMethod; why: string }[] = [];
  for (const method of methods) {
    const why = layers.map((l) => method.notApplicable?.(l)).find((w) => w !== undefined);
    if (why === undefined) kept.push(method);
    else skipped.push({ method, why });
  }
  return { methods: kept, skipped };
}
