// LRP rules of the linear layers (Conv of any group count, Gemm, MatMul by a constant matrix), as
// defined in docs/lrp-rules.md. Every rule is a "modified gradient": it runs copies of the layer
// with modified weights (and inputs) forward to get the denominators z, divides the incoming
// relevance by them, sends the quotient back through the layer's own input-gradient rule (reused
// from the gradient rule set with the modified weights swapped in), and multiplies by the
// (modified) inputs. So each rule is a list of (input, weight) terms and a division.
import { CamscopeError } from "../../errors.ts";
import type { NodeProto, TensorProto } from "../../onnx/proto.ts";
import { floatTensor, tensorData } from "../../onnx/tensor.ts";
import type { OpRule, Rule, RuleContext } from "../rule.ts";
import { conv } from "../rules/conv.ts";
import { gemm } from "../rules/gemm.ts";
import { matMul } from "../rules/matmul.ts";
import { divideStabilized, safeDivide } from "./divide.ts";

/** An LRP rule for linear layers (Conv, Gemm, MatMul) with its parameters (docs/lrp-rules.md). */
export type LinearRuleSpec =
  | {
      /** The epsilon rule. */
      rule: "epsilon";
      /** Stabiliser added to the denominator, with its sign; default 1e-6. */
      epsilon?: number;
    }
  | {
      /** The z+ rule: positive contributions only. */
      rule: "zplus";
      /**
       * Add a convolution's bias to the denominator, once with the W+x+ term and once with the
       * W-x- term (2b in all), as Relevance-CAM's official code does; Gemm and MatMul layers
       * keep a bias-free denominator there too. Default false: the bias-free z+ conserves
       * relevance.
       */
      convBias?: boolean;
    }
  | {
      /** The alpha-beta rule. */
      rule: "alphabeta";
      /** Weight of positive contributions; default 2. */
      alpha?: number;
      /** Weight of negative contributions; default 1 (alpha - beta must be 1). */
      beta?: number;
    }
  | {
      /** The gamma rule: positive weights boosted by gamma. */
      rule: "gamma";
      /** Default 0.25. */
      gamma?: number;
      /** Stabiliser; default 1e-6. */
      epsilon?: number;
    }
  | {
      /** The z-box rule, for the first layer on bounded inputs. */
      rule: "zbox";
      /** Lowest input value per channel. */
      low: readonly number[];
      /** Highest input value per channel. */
      high: readonly number[];
    }
  | {
      /** The flat rule: relevance spread evenly over the receptive field. */
      rule: "flat";
    }
  | {
      /** The w-square rule: relevance spread in proportion to squared weights. */
      rule: "wsquare";
    };

export const LINEAR_RULE_NAMES = [
  "epsilon",
  "zplus",
  "alphabeta",
  "gamma",
  "zbox",
  "flat",
  "wsquare",
] as const;

const DEFAULT_EPSILON = 1e-6;

const GRADIENT_RULES: Record<string, OpRule> = { Conv: conv, Gemm: gemm, MatMul: matMul };

/** Ops the linear rules apply to. */
export function isLinearNode(node: NodeProto): boolean {
  return node.op_type in GRADIENT_RULES;
}

/** The position of the weight among the node's inputs (MatMul: the constant operand, B). */
const WEIGHT_INPUT = 1;

/** The layer seen by a rule: its input, weight, optional bias and output. */
interface LinearLayer {
  ctx: RuleContext;
  x: string;
  weight: Float32Array;
  weightDims: number[];
  bias: Float32Array | undefined;
  /** Weight arrays already stored as graph constants (the original is the node's own input). */
  stored: Map<Float32Array, [string, TensorProto]>;
}

function linearLayer(ctx: RuleContext): LinearLayer {
  const { node } = ctx;
  const w = ctx.constant(node.input[WEIGHT_INPUT] ?? "");
  if (!w || ctx.needsGrad(WEIGHT_INPUT)) {
    throw ctx.unsupported("its weights are computed from the input; LRP needs constant weights");
  }
  const biasName = node.op_type === "MatMul" ? undefined : node.input[2];
  const bias = biasName ? ctx.constant(biasName) : undefined;
  if (biasName && !bias) {
    throw ctx.unsupported("its bias is computed; LRP needs a constant bias");
  }
  const weight = Float32Array.from(tensorData(w) as Float32Array);
  return {
    ctx,
    x: node.input[0]!,
    weight,
    weightDims: [...(w.dims ?? [])],
    bias: bias ? Float32Array.from(tensorData(bias) as Float32Array) : undefined,
    stored: new Map([[weight, [node.input[WEIGHT_INPUT]!, w]]]),
  };
}

/** One term of a rule: a layer copy with weights `weight` applied to the value `input`. */
interface Term {
  input: string;
  weight: Float32Array;
}

/** The graph constant holding `values` (one per distinct weight array of the layer). */
function storedWeight(layer: LinearLayer, values: Float32Array): [string, TensorProto] {
  let stored = layer.stored.get(values);
  if (!stored) {
    const name = layer.ctx.b.floats(values, layer.weightDims, "lrp_weight");
    stored = [name, floatTensor(name, layer.weightDims, values)];
    layer.stored.set(values, stored);
  }
  return stored;
}

/** The layer's op with inputs [input, weight, bias?] appended to the graph; returns its output. */
function forwardCopy(layer: LinearLayer, input: string, weight: string, bias?: string): string {
  const { node, b } = layer.ctx;
  const output = b.fresh(`lrp_${node.op_type}`);
  b.nodes.push({
    ...node,
    name: b.fresh(`lrp_${node.op_type}_node`),
    input: bias ? [input, weight, bias] : [input, weight],
    output: [output],
  });
  return output;
}

/**
 * The layer's input-gradient rule applied to `signal` with the weights replaced by `weight`
 * (`weightTensor` its constant): what a layer with those weights sends back to its input.
 */
function inputVjp(
  layer: LinearLayer,
  weight: string,
  weightTensor: TensorProto,
  signal: string,
): string {
  const { ctx } = layer;
  const node = ctx.node;
  let result: string | undefined;
  const proxy: RuleContext = {
    ...ctx,
    node: { ...node, input: [node.input[0]!, weight] },
    gradOut: () => signal,
    needsGrad: (k) => k === 0,
    setGrad: (k, value) => {
      if (k === 0) result = value;
    },
    dims: (v) => (v === weight ? [...(weightTensor.dims ?? [])] : ctx.dims(v)),
    constant: (v) => (v === weight ? weightTensor : ctx.constant(v)),
  };
  GRADIENT_RULES[node.op_type]!.rule(proxy);
  if (!result) throw new Error(`internal: no input gradient from ${node.op_type}`);
  return result;
}

/**
 * sum_t input_t * W_t^T s with s = divide(R, sum_t W_t input_t + bias): the shared form of every
 * linear rule. `z` may be given when it is already in the graph (the layer's own output).
 */
function zRule(
  layer: LinearLayer,
  terms: readonly Term[],
  divide: (r: string, z: string) => string,
  options: { bias?: Float32Array; z?: string } = {},
): string {
  const { ctx } = layer;
  const { b } = ctx;
  const weights = terms.map((t) => storedWeight(layer, t.weight));
  let z = options.z;
  if (!z) {
    const biasName = options.bias
      ? b.floats(options.bias, [options.bias.length], "lrp_bias")
      : undefined;
    const parts = terms.map((t, i) =>
      forwardCopy(layer, t.input, weights[i]![0], i === 0 ? biasName : undefined),
    );
    z = parts.slice(1).reduce((acc, p) => b.add(acc, p), parts[0]!);
  }
  const s = divide(ctx.gradOut()!, z);
  const contributions = terms.map((t, i) =>
    b.mul(t.input, inputVjp(layer, weights[i]![0], weights[i]![1], s)),
  );
  return contributions.slice(1).reduce((acc, c) => b.add(acc, c), contributions[0]!);
}

const positive = (w: Float32Array): Float32Array => w.map((v) => Math.max(v, 0));
const negative = (w: Float32Array): Float32Array => w.map((v) => Math.min(v, 0));

function inputParts(layer: LinearLayer): [string, string] {
  const { b } = layer.ctx;
  return [b.op("Relu", [layer.x]), b.op("Min", [layer.x, b.scalar(0)])];
}

/** A constant shaped like the layer input at batch 1, one value per channel (axis 1). */
function perChannel(layer: LinearLayer, values: readonly number[], hint: string): string {
  const dims = [1, ...layer.ctx.dims(layer.x).slice(1)];
  const channels = dims[1]!;
  if (values.length !== 1 && values.length !== channels) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `zbox bounds have ${values.length} values, but the input of node "${layer.ctx.node.name ?? ""}" has ${channels} channels`,
    );
  }
  const per = dims.slice(2).reduce((a, d) => a * d, 1);
  const data = new Float32Array(channels * per);
  for (let c = 0; c < channels; c++)
    data.fill(values[values.length === 1 ? 0 : c]!, c * per, (c + 1) * per);
  return layer.ctx.b.floats(data, dims, hint);
}

function onesLike(layer: LinearLayer): string {
  const dims = [1, ...layer.ctx.dims(layer.x).slice(1)];
  return layer.ctx.b.floats(
    new Float32Array(dims.reduce((a, d) => a * d, 1)).fill(1),
    dims,
    "lrp_ones",
  );
}

/** The relevance a linear rule sends to the layer's input. */
function linearRelevance(spec: LinearRuleSpec, layer: LinearLayer): string {
  const { b } = layer.ctx;
  const w = layer.weight;
  switch (spec.rule) {
    case "epsilon": {
      const eps = spec.epsilon ?? DEFAULT_EPSILON;
      return zRule(
        layer,
        [{ input: layer.x, weight: w }],
        (r, z) => divideStabilized(b, r, z, eps),
        {
          z: layer.ctx.node.output[0]!,
        },
      );
    }
    case "zplus": {
      const [xp, xn] = inputParts(layer);
      const conv = layer.ctx.node.op_type === "Conv";
      const bias = spec.convBias && conv ? layer.bias?.map((v) => 2 * v) : undefined;
      return zRule(
        layer,
        [
          { input: xp, weight: positive(w) },
          { input: xn, weight: negative(w) },
        ],
        (r, z) => safeDivide(b, r, z),
        bias ? { bias } : {},
      );
    }
    case "alphabeta": {
      const alpha = spec.alpha ?? 2;
      const beta = spec.beta ?? 1;
      const [xp, xn] = inputParts(layer);
      const [wp, wn] = [positive(w), negative(w)];
      const activating = zRule(
        layer,
        [
          { input: xp, weight: wp },
          { input: xn, weight: wn },
        ],
        (r, z) => safeDivide(b, r, z),
      );
      if (beta === 0) return alpha === 1 ? activating : b.mul(activating, b.scalar(alpha));
      const inhibiting = zRule(
        layer,
        [
          { input: xp, weight: wn },
          { input: xn, weight: wp },
        ],
        (r, z) => safeDivide(b, r, z),
      );
      return b.op("Sub", [b.mul(activating, b.scalar(alpha)), b.mul(inhibiting, b.scalar(beta))]);
    }
    case "gamma": {
      const gamma = spec.gamma ?? 0.25;
      const eps = spec.epsilon ?? DEFAULT_EPSILON;
      const bias = layer.bias?.map((v) => v + gamma * Math.max(v, 0));
      return zRule(
        layer,
        [{ input: layer.x, weight: w.map((v) => v + gamma * Math.max(v, 0)) }],
        (r, z) => divideStabilized(b, r, z, eps),
        bias ? { bias } : {},
      );
    }
    case "zbox": {
      const low = perChannel(layer, spec.low, "lrp_low");
      const high = perChannel(layer, spec.high, "lrp_high");
      const minus = (v: Float32Array): Float32Array => v.map((x) => -x);
      return zRule(
        layer,
        [
          { input: layer.x, weight: w },
          { input: low, weight: minus(positive(w)) },
          { input: high, weight: minus(negative(w)) },
        ],
        (r, z) => divideStabilized(b, r, z, DEFAULT_EPSILON),
      );
    }
    case "flat": {
      return zRule(layer, [{ input: onesLike(layer), weight: w.map(() => 1) }], (r, z) =>
        safeDivide(b, r, z),
      );
    }
    case "wsquare": {
      return zRule(layer, [{ input: onesLike(layer), weight: w.map((v) => v * v) }], (r, z) =>
        safeDivide(b, r, z),
      );
    }
  }
}

/** A compiler rule applying `spec` to a linear node. */
export function linearRule(spec: LinearRuleSpec): Rule {
  return (ctx) => ctx.setGrad(0, linearRelevance(spec, linearLayer(ctx)));
}
