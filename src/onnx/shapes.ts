// The model's image input with the concrete dims camscope runs it at. (The dims of every other
// value come from a probe run: engine/probe.ts.)
import { CamscopeError } from "../errors.ts";
import { valueInfoDims, type OnnxModel } from "./model.ts";

/** A model's image input, with the concrete dims camscope runs it at. */
export interface ModelInput {
  /** The input's name. */
  name: string;
  /** Concrete dims used to run the model, batch 1. */
  dims: number[];
}

/**
 * The model's single image input with concrete dims: a symbolic batch becomes 1, other symbolic
 * dims come from `spatial` ([H, W], placed by the layout the static dims suggest).
 */
export function resolveInput(model: OnnxModel, spatial?: readonly [number, number]): ModelInput {
  const inputs = model.inputs();
  if (inputs.length !== 1) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model "${model.source}" has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); camscope expects one image input`,
    );
  }
  const input = inputs[0]!;
  const dims = valueInfoDims(input);
  if (!dims || dims.length !== 4) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model "${model.source}" input "${input.name}" is not a 4-D image tensor (dims ${JSON.stringify(dims)})`,
    );
  }
  const channelsLast = dims[3] === 3 || dims[3] === 1;
  const [hAxis, wAxis] = channelsLast ? [1, 2] : [2, 3];
  const resolved = dims.map((d, axis) => {
    if (d !== undefined) return axis === 0 ? 1 : d;
    if (axis === 0) return 1;
    if (spatial && axis === hAxis) return spatial[0];
    if (spatial && axis === wAxis) return spatial[1];
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model "${model.source}" input "${input.name}" has a symbolic dim at axis ${axis}; give the input size`,
    );
  });
  return { name: input.name, dims: resolved };
}
