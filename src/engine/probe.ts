// Shapes of every intermediate float value. ONNX files rarely carry complete value_info, so the
// reliable way is to run the model on a zero input with every float value as an output: once at
// batch 1, and once at batch 2 to tell which axes carry the batch.
import { elemTypes } from "../onnx/elem-types.ts";
import { valueInfoDims, type OnnxModel } from "../onnx/model.ts";
import { withOutputs } from "../onnx/outputs.ts";
import { DataType } from "../onnx/proto.ts";
import { resolveInput, type ModelInput } from "../onnx/shapes.ts";
import { ValueShapes } from "../onnx/value-shapes.ts";
import { sizeOf } from "../tensor/tensor.ts";
import { Tensor, type Engine, type Feeds } from "./engine.ts";

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
