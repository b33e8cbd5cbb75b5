// A tiny CNN classifier built in code, for tests that need an arbitrary ONNX file (a class count,
// an input size) without a committed binary: Conv 3x3 -> Relu -> GlobalAveragePool -> Flatten ->
// Gemm, with fixed pseudo-random weights.
import { writeFile } from "node:fs/promises";
import { makeAttr } from "../../onnx/attributes.ts";
import { OnnxModel } from "../../onnx/model.ts";
import { DataType, type ValueInfoProto } from "../../onnx/proto.ts";
import { floatTensor } from "../../onnx/tensor.ts";

export interface TinyClassifierOptions {
  classes: number;
  /** Static input [height, width]; default [16, 16]. */
  size?: [number, number];
  /** Append a Softmax so the output holds probabilities. */
  softmax?: boolean;
}

const CHANNELS = 4;

function weights(count: number, seed: number): Float32Array {
  // A fixed LCG: the model only has to be deterministic, not good.
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function tensorInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

export function tinyClassifier(options: TinyClassifierOptions): OnnxModel {
  const { classes } = options;
  const [h, w] = options.size ?? [16, 16];
  const node = (
    op: string,
    input: string[],
    output: string,
    attrs: ReturnType<typeof makeAttr>[] = [],
  ) => ({
    op_type: op,
    name: `${op}_${output}`,
    input,
    output: [output],
    attribute: attrs,
  });
  const nodes = [
    node("Conv", ["input", "conv.weight", "conv.bias"], "conv", [
      makeAttr("kernel_shape", [3, 3]),
      makeAttr("pads", [1, 1, 1, 1]),
    ]),
    node("Relu", ["conv"], "features"),
    node("GlobalAveragePool", ["features"], "pooled"),
    node("Flatten", ["pooled"], "flat"),
    node("Gemm", ["flat", "fc.weight", "fc.bias"], options.softmax ? "logits" : "output", [
      makeAttr("transB", 1),
    ]),
  ];
  if (options.softmax) nodes.push(node("Softmax", ["logits"], "output", [makeAttr("axis", 1)]));
  const graph = {
    name: "tiny",
    node: nodes,
    initializer: [
      floatTensor("conv.weight", [CHANNELS, 3, 3, 3], weights(CHANNELS * 27, 1)),
      floatTensor("conv.bias", [CHANNELS], weights(CHANNELS, 2)),
      floatTensor("fc.weight", [classes, CHANNELS], weights(classes * CHANNELS, 3)),
      floatTensor("fc.bias", [classes], weights(classes, 4)),
    ],
    input: [tensorInfo("input", ["batch", 3, h, w])],
    output: [tensorInfo("output", ["batch", classes])],
    value_info: [],
  };
  const proto = { ir_version: 8, opset_import: [{ domain: "", version: 13 }], graph };
  return OnnxModel.fromBytes(new OnnxModel(proto, "tiny").toBytes(), "tiny");
}

/** Writes a tiny classifier to `path` as an .onnx file. */
export async function writeTinyClassifier(
  path: string,
  options: TinyClassifierOptions,
): Promise<void> {
  await writeFile(path, tinyClassifier(options).toBytes());
}
