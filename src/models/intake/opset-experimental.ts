// The experimental operators of ONNX 1.0 to 1.4 (removed from ONNX in 1.5; ONNX Runtime accepts
// them only below opset 10), written with standard operators. Caffe2-era model-zoo files use
// ImageScaler for their preprocessing. Semantics as ONNX Runtime's kernels compute them.
import { attrFloat, attrFloats, attrInts } from "../../onnx/attributes.ts";
import type { NodeProto } from "../../onnx/proto.ts";
import type { UpgradeContext } from "./opset-context.ts";
import { withInputs } from "./opset-nodes.ts";

type Experimental = (node: NodeProto, cx: UpgradeContext) => NodeProto[];

/**
 * y = f_n(...f_1(x)) where each step is an op with an optional scalar constant; the last step
 * takes over the node's name and output. No step at all is an Identity.
 */
function chain(
  node: NodeProto,
  cx: UpgradeContext,
  steps: { op: string; constant?: { values: number[]; dims: number[] } }[],
): NodeProto[] {
  const x = node.input[0]!;
  const type = cx.elemType(x);
  const list = steps.length > 0 ? steps : [{ op: "Identity" }];
  const nodes: NodeProto[] = [];
  let value = x;
  list.forEach((step, k) => {
    const inputs = [value];
    if (step.constant) {
      inputs.push(cx.typed(step.constant.values, step.constant.dims, type, step.op.toLowerCase()));
    }
    const made =
      k === list.length - 1
        ? { ...cx.makeNode(step.op, inputs, {}, node.output), name: node.name ?? "" }
        : cx.makeNode(step.op, inputs);
    nodes.push(made);
    value = made.output[0]!;
  });
  return nodes;
}

const scalar = (v: number) => ({ values: [v], dims: [] });

/** y = scale * x + bias[c] on NCHW input. */
const imageScaler: Experimental = (node, cx) => {
  const scale = attrFloat(node, "scale", 1);
  const bias = attrFloats(node, "bias");
  cx.note("Mul and Add with constants");
  return chain(node, cx, [
    ...(scale !== 1 ? [{ op: "Mul", constant: scalar(scale) }] : []),
    ...(bias && bias.length > 0
      ? [{ op: "Add", constant: { values: bias, dims: [1, bias.length, 1, 1] } }]
      : []),
  ]);
};

const scaleOp: Experimental = (node, cx) => {
  cx.note("Mul with a constant");
  return chain(node, cx, [{ op: "Mul", constant: scalar(attrFloat(node, "scale", 1)) }]);
};

const affine: Experimental = (node, cx) => {
  cx.note("Mul and Add with constants");
  return chain(node, cx, [
    { op: "Mul", constant: scalar(attrFloat(node, "alpha", 1)) },
    { op: "Add", constant: scalar(attrFloat(node, "beta", 0)) },
  ]);
};

/** y = alpha * ln(exp(beta * x) + 1). */
const parametricSoftplus: Experimental = (node, cx) => {
  cx.note("Mul, Softplus, Mul");
  return chain(node, cx, [
    { op: "Mul", constant: scalar(attrFloat(node, "beta", 1)) },
    { op: "Softplus" },
    { op: "Mul", constant: scalar(attrFloat(node, "alpha", 1)) },
  ]);
};

/** y = alpha * tanh(beta * x). */
const scaledTanh: Experimental = (node, cx) => {
  cx.note("Mul, Tanh, Mul");
  return chain(node, cx, [
    { op: "Mul", constant: scalar(attrFloat(node, "beta", 1)) },
    { op: "Tanh" },
    { op: "Mul", constant: scalar(attrFloat(node, "alpha", 1)) },
  ]);
};

/** The experimental ThresholdedRelu is the standard one of opset 10, same attribute. */
const thresholdedRelu: Experimental = (node, cx) => {
  cx.note("standard ThresholdedRelu-10");
  return [node];
};

/** DynamicSlice has Slice-10's inputs without steps. */
const dynamicSlice: Experimental = (node, cx) => {
  cx.note("Slice");
  return [{ ...node, op_type: "Slice" }];
};

/** Crop: border (left, top, right, bottom) cut off H and W, or a (height, width) window at it. */
const crop: Experimental = (node, cx) => {
  const border = attrInts(node, "border");
  if (!border || border.length < 4) return cx.fail("Crop needs four border values");
  const [left, top, right, bottom] = border as [number, number, number, number];
  const size = attrInts(node, "scale");
  // An end of 0 counted from the back would be an empty slice: "to the end" is INT64_MAX.
  const fromEnd = (b: number) => (b === 0 ? Number.MAX_SAFE_INTEGER : -b);
  const ends =
    size && size.length >= 2
      ? [top + size[0]!, left + size[1]!]
      : [fromEnd(bottom), fromEnd(right)];
  cx.note("Slice on H and W");
  return [
    withInputs({ ...node, op_type: "Slice", attribute: [] }, [
      node.input[0]!,
      cx.int64s([top, left], "starts"),
      cx.int64s(ends, "ends"),
      cx.int64s([2, 3], "axes"),
    ]),
  ];
};

export const EXPERIMENTAL: Readonly<Record<string, Experimental>> = {
  ImageScaler: imageScaler,
  Scale: scaleOp,
  Affine: affine,
  ParametricSoftplus: parametricSoftplus,
  ScaledTanh: scaledTanh,
  ThresholdedRelu: thresholdedRelu,
  DynamicSlice: dynamicSlice,
  Crop: crop,
};
