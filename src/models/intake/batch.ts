// Exports without dynamic axes take exactly one batch size (usually 1), and constant folding has
// baked that size into shape constants (Reshape to [1, -1], a class token expanded to [1, 1, C]).
// camscope batches everything, so such a model is rewritten to take any batch: the input's batch
// dim becomes symbolic and every shape constant whose leading entry is that batch size, on a
// value that carries the batch, reads the batch from the input at run time instead. The pipeline
// then verifies the rewrite on real runs and, if it does not hold, keeps the model as exported and
// runs it in chunks of its fixed size.
import { attrTensor } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { NodeProto, TensorProto } from "../../onnx/proto.ts";
import { int64Tensor, tensorNumbers } from "../../onnx/tensor.ts";

/** The static batch size of the model's input, or undefined when it is symbolic. */
export function fixedBatchOf(model: OnnxModel, input: string): number | undefined {
  const dim = model.inputs().find((v) => v.name === input)?.type?.tensor_type?.shape?.dim?.[0];
  return dim?.dim_value !== undefined && dim.dim_value > 0 ? dim.dim_value : undefined;
}

// Ops whose second input is a target shape (or per-axis repeat counts) with the batch first.
const SHAPE_INPUT_OPS = new Set(["Reshape", "Expand", "Tile"]);

/**
 * Rewrites (in place) a model with a fixed batch of `batch` to take a symbolic batch N. Returns a
 * description of each constant rewritten; the caller verifies the result.
 */
export function makeBatchSymbolic(model: OnnxModel, input: string, batch: number): string[] {
  const g = model.graph;
  const constants = new Map<string, TensorProto>();
  for (const t of g.initializer) if (t.name) constants.set(t.name, t);
  for (const node of g.node) {
    const t = node.op_type === "Constant" ? attrTensor(node, "value") : undefined;
    if (t && node.output[0]) constants.set(node.output[0], t);
  }
  const batched = new Set([input]);
  for (const node of g.node) {
    if (node.input.some((i) => batched.has(i))) for (const o of node.output) if (o) batched.add(o);
  }

  const changes: string[] = [];
  const BATCH = "camscope/batch";
  const nodes: NodeProto[] = [];
  g.node.forEach((node, index) => {
    const shapeInput = node.input[1];
    const t =
      shapeInput && SHAPE_INPUT_OPS.has(node.op_type) ? constants.get(shapeInput) : undefined;
    const values = t ? tensorNumbers(t) : [];
    // A Reshape moves the batch only if its data carries one; Expand and Tile create it (Tile
    // counts repeats: the data's leading 1 repeated N times).
    const rewrite =
      values[0] === batch && (node.op_type !== "Reshape" || batched.has(node.input[0] ?? ""));
    if (rewrite) {
      if (changes.length === 0) {
        const [shape, start, end] = [`${BATCH}/input_shape`, `${BATCH}/start`, `${BATCH}/end`];
        g.initializer.push(int64Tensor(start, [1], [0]), int64Tensor(end, [1], [1]));
        nodes.unshift(
          {
            op_type: "Shape",
            name: `${shape}/node`,
            input: [input],
            output: [shape],
            attribute: [],
          },
          {
            op_type: "Slice",
            name: `${BATCH}/node`,
            input: [shape, start, end],
            output: [BATCH],
            attribute: [],
          },
        );
      }
      const label = node.name || `#${index}`;
      const [rest, shape] = [`${BATCH}/${label}/rest`, `${BATCH}/${label}/shape`];
      g.initializer.push(int64Tensor(rest, [values.length - 1], values.slice(1)));
      nodes.push({
        op_type: "Concat",
        name: `${shape}/node`,
        input: [BATCH, rest],
        output: [shape],
        attribute: [{ name: "axis", type: 2, i: 0 }],
      });
      node.input[1] = shape;
      changes.push(
        `${node.op_type} "${label}": leading ${batch} of [${values.join(", ")}] is now the run-time batch`,
      );
    }
    nodes.push(node);
  });
  g.node = nodes;

  for (const v of [...model.inputs().filter((i) => i.name === input), ...g.output]) {
    const dim = v.type?.tensor_type?.shape?.dim;
    if (dim && dim.length > 0) dim[0] = { dim_param: "N" };
  }
  // value_info entries record the fixed batch too; they are optional, and stale ones make ONNX
  // Runtime's shape inference fail.
  g.value_info = [];
  return changes;
}
