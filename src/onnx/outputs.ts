// Exposing intermediate values as graph outputs, so one session run returns them too.
import { CamscopeError } from "../errors.ts";
import { elemTypes } from "./elem-types.ts";
import type { OnnxModel } from "./model.ts";

/**
 * A copy of the model whose graph also outputs `names` (values already among the outputs are
 * kept once). An unknown value name is an error, since ONNX Runtime would reject it less clearly.
 */
export function withOutputs(model: OnnxModel, names: readonly string[]): OnnxModel {
  const types = elemTypes(model);
  const copy = model.clone();
  const present = new Set(copy.graph.output.map((o) => o.name));
  for (const name of names) {
    if (present.has(name)) continue;
    const elem = types.get(name);
    if (elem === undefined) {
      throw new CamscopeError(
        "UNKNOWN_LAYER",
        `Model "${model.source}" has no value named "${name}"`,
      );
    }
    copy.graph.output.push({ name, type: { tensor_type: { elem_type: elem } } });
    present.add(name);
  }
  return copy;
}
