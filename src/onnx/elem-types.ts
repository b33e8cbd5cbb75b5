// Element types of every value in a graph. ONNX Runtime needs a graph output's type declared, so
// exposing an intermediate value as an output (activations, gradients) needs its element type.
import { attrInt, attrTensor, hasAttr } from "./attributes.ts";
import type { OnnxModel } from "./model.ts";
import { DataType, type NodeProto } from "./proto.ts";

const ALWAYS_INT64 = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"]);
const ALWAYS_BOOL = new Set([
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "Not",
  "And",
  "Or",
  "Xor",
  "IsNaN",
  "IsInf",
]);

function outputTypes(node: NodeProto, typeOf: (name: string) => number | undefined): number[] {
  const first = node.input.map((i) => (i ? typeOf(i) : undefined)).find((t) => t !== undefined);
  const op = node.op_type;
  if (ALWAYS_INT64.has(op)) return node.output.map(() => DataType.INT64);
  if (ALWAYS_BOOL.has(op)) return node.output.map(() => DataType.BOOL);
  switch (op) {
    case "Cast":
      return [attrInt(node, "to", DataType.FLOAT)];
    case "Constant": {
      const t = attrTensor(node, "value");
      if (t) return [t.data_type ?? DataType.FLOAT];
      return [
        hasAttr(node, "value_int") || hasAttr(node, "value_ints") ? DataType.INT64 : DataType.FLOAT,
      ];
    }
    case "ConstantOfShape":
      return [attrTensor(node, "value")?.data_type ?? DataType.FLOAT];
    case "Where":
      return [typeOf(node.input[1] ?? "") ?? DataType.FLOAT];
    case "Dropout":
      // Second output (mask) is bool.
      return node.output.map((_, k) => (k === 0 ? (first ?? DataType.FLOAT) : DataType.BOOL));
    case "TopK":
    case "MaxPool":
      // Second output (indices) is int64.
      return node.output.map((_, k) => (k === 0 ? (first ?? DataType.FLOAT) : DataType.INT64));
    default:
      return node.output.map(() => first ?? DataType.FLOAT);
  }
}

/** Maps every value name of the graph (inputs, initializers, node outputs) to its ONNX data type. */
export function elemTypes(model: OnnxModel): Map<string, number> {
  const types = new Map<string, number>();
  const g = model.graph;
  for (const t of g.initializer) if (t.name) types.set(t.name, t.data_type ?? DataType.FLOAT);
  for (const v of [...g.input, ...g.value_info, ...g.output]) {
    const et = v.type?.tensor_type?.elem_type;
    if (et) types.set(v.name, et);
  }
  const typeOf = (name: string) => types.get(name);
  for (const node of g.node) {
    const outs = outputTypes(node, typeOf);
    node.output.forEach((name, k) => {
      if (name && !types.has(name)) types.set(name, outs[k] ?? DataType.FLOAT);
    });
  }
  return types;
}
