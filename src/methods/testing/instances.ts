// Family instances of registry methods for tests that drive a family's pipeline directly.
import type { AttributionMethod } from "../../attribution/method.ts";
import type { CamMethod } from "../../cam/method.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { chooseMethod, METHODS, resolveMethodNames } from "../registry.ts";

/** Every CAM method of the registry at its default options, in registry order. */
export function camInstances(model: OnnxModel): CamMethod[] {
  return METHODS.filter((m) => m.family === "cam").map(
    (m) => m.create(chooseMethod(m).options, model).method as CamMethod,
  );
}

/**
 * Pixel-attribution methods by name ("pixel": every one of that family) with options by method
 * name, as the registry builds them.
 */
export function attributionInstances(
  model: OnnxModel,
  names: readonly string[],
  options: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {},
): AttributionMethod[] {
  return resolveMethodNames(names)
    .filter((m) => m.family === "attribution")
    .map((m) => {
      const created = m.create(chooseMethod(m, options[m.name]).options, model);
      return created.method as AttributionMethod;
    });
}
