import { CamscopeError } from "../../errors.ts";
import { attrInt, attrInts } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { NodeProto, TensorProto } from "../../onnx/proto.ts";
import { tensorData, tensorNumbers } from "../../onnx/tensor.ts";
import type { WeightsMethod } from "../method.ts";

const RESHAPES = new Set(["Flatten", "Reshape", "Squeeze", "Identity", "Dropout"]);

function isGlobalAverage(node: NodeProto, constants: ReadonlyMap<string, TensorProto>): boolean {
  if (node.op_type === "GlobalAveragePool") return true;
  if (node.op_type !== "ReduceMean") return false;
  // Axes are an attribute before opset 18 and an input from it.
  const given = node.input[1] ? constants.get(node.input[1]) : undefined;
  const axes = given ? tensorNumbers(given) : attrInts(node, "axes");
  return axes !== undefined && [...axes].sort().join() === "2,3";
}

/**
 * The classifier weights [classes, K] of a head that is exactly global average pooling, reshapes
 * and one linear layer (Gemm, or MatMul + Add) reading `layer` — the only heads CAM is defined
 * for. Anything else is an error naming what was found.
 */
export function linearHeadWeights(
  model: OnnxModel,
  layer: string,
): { weights: Float32Array; classes: number; channels: number } {
  const { consumers, initializers } = model.index();
  const only = (value: string): NodeProto | undefined => {
    const list = consumers.get(value) ?? [];
    return list.length === 1 ? list[0] : undefined;
  };
  const fail = (why: string): never => {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `CAM needs global average pooling and one linear layer after "${layer}" (${why}); use Grad-CAM, which equals CAM on such heads`,
    );
  };
  let node = only(layer);
  if (!node || !isGlobalAverage(node, initializers))
    return fail(`found ${node?.op_type ?? "several consumers"}`);
  node = only(node.output[0]!);
  while (node && RESHAPES.has(node.op_type)) node = only(node.output[0]!);
  if (!node || (node.op_type !== "Gemm" && node.op_type !== "MatMul")) {
    return fail(`found ${node?.op_type ?? "several consumers"} after pooling`);
  }
  const w = initializers.get(node.input[1]!);
  if (!w || !w.dims || w.dims.length !== 2)
    return fail("the linear layer's weights are not a constant matrix");
  // The linear layer's output must be the logits: a hidden layer (MobileNetV3's two-layer
  // classifier) would make its hidden units pass for classes.
  const outputs = new Set(model.outputs().map((o) => o.name));
  let after = node;
  for (;;) {
    const out = after.output[0]!;
    if (outputs.has(out)) break;
    const next = only(out);
    const bias = next?.op_type === "Add" && after.op_type === "MatMul" && after === node;
    if (!next || !(RESHAPES.has(next.op_type) || bias)) {
      return fail(`found ${next?.op_type ?? "several consumers"} after the linear layer`);
    }
    after = next;
  }
  const data = tensorData(w) as Float32Array;
  const [rows, cols] = w.dims as [number, number];
  // Gemm with transB (PyTorch's Linear) stores [classes, K]; MatMul and plain Gemm store [K, classes].
  const transposed = node.op_type === "Gemm" && attrInt(node, "transB", 0) === 1;
  if (node.op_type === "Gemm" && attrInt(node, "transA", 0) === 1)
    return fail("Gemm transA is set");
  const classes = transposed ? rows : cols;
  const channels = transposed ? cols : rows;
  const weights = new Float32Array(classes * channels);
  for (let c = 0; c < classes; c++) {
    for (let k = 0; k < channels; k++) {
      weights[c * channels + k] = transposed ? data[c * channels + k]! : data[k * classes + c]!;
    }
  }
  return { weights, classes, channels };
}

// CAM (Zhou et al. 2016): w_k = the linear head's weight of channel k for the target class.
export function camMethod(model: OnnxModel): WeightsMethod {
  return {
    name: "cam",
    title: "CAM",
    kind: "weights",
    needsGradients: false,
    weights: ({ layer, targets }) => {
      const head = linearHeadWeights(model, layer.name);
      const out = new Float32Array(targets.classes.length * head.channels);
      targets.classes.forEach((c, i) => {
        // A binary model's class 0 is the negated logit.
        const row = targets.binary ? 0 : c;
        const sign = targets.binary && c === 0 ? -1 : 1;
        for (let k = 0; k < head.channels; k++) {
          out[i * head.channels + k] = sign * head.weights[row * head.channels + k]!;
        }
      });
      return out;
    },
  };
}
