// Small hand-built ONNX graphs for rule tests.
import type { AttrValue } from "../../onnx/attributes.ts";
import { makeAttr } from "../../onnx/attributes.ts";
import { OnnxModel } from "../../onnx/model.ts";
import { DataType, type TensorProto } from "../../onnx/proto.ts";
import { floatTensor, int64Tensor } from "../../onnx/tensor.ts";

export interface GraphSpec {
  /** Batched float graph inputs; dims exclude the (symbolic) batch dimension. */
  inputs: { name: string; dims: number[] }[];
  /** Constant tensors: float unless `int64`. */
  constants?: {
    name: string;
    dims: number[];
    data: readonly number[] | Float32Array;
    int64?: boolean;
  }[];
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, AttrValue> }[];
  outputs: string[];
  opset?: number;
}

export function buildModel(spec: GraphSpec): OnnxModel {
  const initializer: TensorProto[] = (spec.constants ?? []).map((c) =>
    c.int64 ? int64Tensor(c.name, c.dims, [...c.data]) : floatTensor(c.name, c.dims, c.data),
  );
  const valueInfo = (name: string, dims?: number[]) => ({
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        ...(dims
          ? { shape: { dim: [{ dim_param: "N" }, ...dims.map((d) => ({ dim_value: d }))] } }
          : {}),
      },
    },
  });
  return new OnnxModel(
    {
      ir_version: 8,
      opset_import: [{ domain: "", version: spec.opset ?? 13 }],
      graph: {
        name: "test",
        node: spec.nodes.map((n, i) => ({
          op_type: n.op,
          name: `${n.op}_${i}`,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => makeAttr(k, v)),
        })),
        initializer,
        input: spec.inputs.map((i) => valueInfo(i.name, i.dims)),
        output: spec.outputs.map((o) => valueInfo(o)),
        value_info: [],
      },
    },
    "test-graph",
  );
}

/** A graph of one node reading graph input `x` (and constants), writing output `y`. */
export function singleOp(
  op: string,
  xDims: number[],
  attrs: Record<string, AttrValue> = {},
  constants: GraphSpec["constants"] = [],
  opset = 13,
  extraInputs: string[] = [],
): OnnxModel {
  return buildModel({
    inputs: [{ name: "x", dims: xDims }],
    constants,
    nodes: [
      { op, inputs: ["x", ...constants.map((c) => c.name), ...extraInputs], outputs: ["y"], attrs },
    ],
    outputs: ["y"],
    opset,
  });
}
