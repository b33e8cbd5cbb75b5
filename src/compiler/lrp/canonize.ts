// The BatchNorm canonizer: folds each BatchNormalization into the Conv or Gemm that feeds it, so
// that LRP sees one linear layer with the effective weights (an affine map after a linear one is
// one linear map; LRP rules applied to the two separately give different, less meaningful
// relevances). The folded layer takes over the BatchNorm's output name, so every value after it
// keeps its name and shape; the pre-BatchNorm value disappears.
import { attrFloat, attrInt } from "../../onnx/attributes.ts";
import { OnnxModel } from "../../onnx/model.ts";
import type { AttributeProto, NodeProto, TensorProto } from "../../onnx/proto.ts";
import { floatTensor, tensorData, tensorNumbers } from "../../onnx/tensor.ts";

interface Affine {
  scale: Float32Array;
  shift: Float32Array;
}

/** y = scale * x + shift per channel, from BatchNormalization's constants (undefined if not constant). */
function batchNormAffine(
  bn: NodeProto,
  constants: ReadonlyMap<string, TensorProto>,
): Affine | undefined {
  const [, gamma, beta, mean, variance] = bn.input.map((n) => constants.get(n));
  if (!gamma || !beta || !mean || !variance) return undefined;
  const eps = attrFloat(bn, "epsilon", 1e-5);
  const [g, b, m, v] = [gamma, beta, mean, variance].map(tensorNumbers) as [
    number[],
    number[],
    number[],
    number[],
  ];
  // In float64, then rounded once: the exporters' own folding rounds the same way.
  const scale = g.map((gi, c) => gi / Math.sqrt(v[c]! + eps));
  return {
    scale: Float32Array.from(scale),
    shift: Float32Array.from(b, (bi, c) => bi - m[c]! * scale[c]!),
  };
}

/** The folded [weight, bias] of a Conv or Gemm node followed by `affine`, or undefined if it cannot fold. */
function foldInto(
  layer: NodeProto,
  affine: Affine,
  constants: ReadonlyMap<string, TensorProto>,
): [Float32Array, number[], Float32Array] | undefined {
  const w = constants.get(layer.input[1] ?? "");
  if (!w) return undefined;
  const dims = [...(w.dims ?? [])];
  const channels = affine.scale.length;
  const weight = Float32Array.from(tensorData(w) as Float32Array);
  const biasTensor = layer.input[2] ? constants.get(layer.input[2]) : undefined;
  if (layer.input[2] && !biasTensor) return undefined;
  let bias: Float32Array = biasTensor
    ? Float32Array.from(tensorData(biasTensor) as Float32Array)
    : new Float32Array(channels);
  if (layer.op_type === "Conv") {
    if (dims[0] !== channels || bias.length !== channels) return undefined;
    const per = weight.length / channels;
    for (let o = 0; o < channels; o++)
      for (let i = 0; i < per; i++) weight[o * per + i]! *= affine.scale[o]!;
  } else {
    // Gemm: y = alpha A op(B) + beta C; output channel o is row o of B when transB, else column o.
    if (attrInt(layer, "transA", 0) !== 0 || dims.length !== 2) return undefined;
    const transB = attrInt(layer, "transB", 0) === 1;
    const outputs = transB ? dims[0]! : dims[1]!;
    if (outputs !== channels || (biasTensor && bias.length !== channels)) return undefined;
    const alpha = attrFloat(layer, "alpha", 1);
    const beta = attrFloat(layer, "beta", 1);
    for (let j = 0; j < weight.length; j++) {
      const o = transB ? Math.floor(j / dims[1]!) : j % dims[1]!;
      weight[j]! *= alpha * affine.scale[o]!;
    }
    bias = bias.map((c) => beta * c);
  }
  return [weight, dims, bias.map((c, o) => c * affine.scale[o]! + affine.shift[o]!)];
}

/**
 * A copy of `model` with every BatchNormalization whose input comes only from a Conv or Gemm with
 * constant weights folded into that layer. Other BatchNorms stay (LRP passes relevance through
 * them unchanged). Returns the model and how many were folded.
 */
export function foldBatchNorm(model: OnnxModel): {
  /** The model with the BatchNorms folded. */
  model: OnnxModel;
  /** How many were folded. */
  folded: number;
} {
  const out = model.clone(model.source);
  const g = out.graph;
  const { producer, consumers, initializers } = out.index();
  const constants = new Map<string, TensorProto>(initializers);
  for (const node of g.node) {
    const aliased = node.op_type === "Identity" ? constants.get(node.input[0] ?? "") : undefined;
    if (aliased && node.output[0]) constants.set(node.output[0], aliased);
  }
  const outputs = new Set(g.output.map((o) => o.name));
  const removed = new Set<NodeProto>();
  let folded = 0;
  for (const bn of g.node) {
    if (bn.op_type !== "BatchNormalization" || bn.output.filter(Boolean).length !== 1) continue;
    const x = bn.input[0]!;
    const layer = producer.get(x)?.node;
    if (!layer || (layer.op_type !== "Conv" && layer.op_type !== "Gemm")) continue;
    if (consumers.get(x)?.length !== 1 || outputs.has(x)) continue;
    const affine = batchNormAffine(bn, constants);
    const result = affine && foldInto(layer, affine, constants);
    if (!result) continue;
    const [weight, dims, bias] = result;
    const name = layer.output[0]!;
    const wName = `camscope/folded/${name}/weight`;
    const bName = `camscope/folded/${name}/bias`;
    g.initializer.push(floatTensor(wName, dims, weight), floatTensor(bName, [bias.length], bias));
    layer.input = [layer.input[0]!, wName, bName];
    if (layer.op_type === "Gemm") {
      const attrs: AttributeProto[] = layer.attribute.filter(
        (a) => a.name !== "alpha" && a.name !== "beta",
      );
      layer.attribute = attrs;
    }
    layer.output = [bn.output[0]!];
    removed.add(bn);
    folded++;
  }
  g.node = g.node.filter((n) => !removed.has(n));
  return { model: out, folded };
}
