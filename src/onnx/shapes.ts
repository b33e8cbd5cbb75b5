// Shapes of every intermediate float value. ONNX files rarely carry complete value_info, so the
// reliable way is to run the model on a zero input with every float value as an output: once at
// batch 1, and once at batch 2 to tell which axes carry the batch.
import { CamscopeError } from "../errors.ts";
import { Tensor, type Engine, type Feeds } from "../engine/engine.ts";
import { elemTypes } from "./elem-types.ts";
import { valueInfoDims, type OnnxModel } from "./model.ts";
import { withOutputs } from "./outputs.ts";
import { DataType } from "./proto.ts";
import { ValueShapes } from "./value-shapes.ts";
import { sizeOf } from "../tensor/tensor.ts";

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

/** Zero-filled feeds for `inputs` at a batch size. */
export function zeroFeeds(inputs: readonly ModelInput[], batch: number): Feeds {
  return Object.fromEntries(
    inputs.map((i) => {
      const dims = [batch, ...i.dims.slice(1)];
      return [i.name, new Tensor("float32", new Float32Array(sizeOf(dims)), dims)];
    }),
  );
}

/**
 * Runs the model on zeros and returns the dims (batch 1) of the inputs and every float value.
 * `inputs` defaults to the model's single image input. Where every input's batch dim is symbolic,
 * a second run at batch 2 finds the axes of each value that grow with the batch (a model that
 * fails at batch 2 keeps none, and the compiler falls back to assuming axis 0).
 */
export async function inferShapes(
  model: OnnxModel,
  engine: Engine,
  inputs: ModelInput | readonly ModelInput[] = resolveInput(model),
): Promise<ValueShapes> {
  const list = Array.isArray(inputs) ? inputs : [inputs as ModelInput];
  const types = elemTypes(model);
  const initializers = new Set(model.graph.initializer.map((t) => t.name));
  const names = model.graph.node.flatMap((n) =>
    n.output.filter((o) => o && !initializers.has(o) && types.get(o) === DataType.FLOAT),
  );
  const probe = withOutputs(model, names);
  // A probe session with hundreds of outputs is used once: not cached.
  const session = await engine.open(probe);
  const run = (batch: number) => session.run(zeroFeeds(list, batch), undefined, batch > 1);
  const declared = new Map(model.inputs().map((v) => [v.name, valueInfoDims(v)?.[0]]));
  const symbolicBatch = list.every((i) => declared.get(i.name) === undefined);
  const shapes = new ValueShapes(list.map((i) => [i.name, i.dims]));
  try {
    for (const [name, t] of Object.entries(await run(1))) shapes.set(name, [...t.dims]);
    // A model that cannot run at batch 2 cannot say which axes are its batch; not an error here.
    const second = symbolicBatch ? await run(2).catch(() => undefined) : undefined;
    if (second) {
      for (const i of list) shapes.batchAxes.set(i.name, [0]);
      for (const [name, t] of Object.entries(second)) {
        const one = shapes.get(name);
        if (!one || one.length !== t.dims.length) continue;
        shapes.batchAxes.set(
          name,
          one.flatMap((d, axis) => (d === t.dims[axis] ? [] : [axis])),
        );
      }
    }
  } finally {
    await session.dispose();
  }
  return shapes;
}
