// The registry of gradient rules, one module per op (or per family of ops sharing a rule).
import { ruleSet, type OpRule } from "../rule.ts";
import { averagePool } from "./average-pool.ts";
import { batchNormalization } from "./batch-normalization.ts";
import { clip } from "./clip.ts";
import { concat } from "./concat.ts";
import { conv } from "./conv.ts";
import { add, div, mul, sub } from "./elementwise-arithmetic.ts";
import { erf } from "./erf.ts";
import { expand } from "./expand.ts";
import { gather } from "./gather.ts";
import { gelu } from "./gelu.ts";
import { gemm } from "./gemm.ts";
import { globalAveragePool } from "./global-average-pool.ts";
import { globalMaxPool } from "./global-max-pool.ts";
import { hardSigmoid, hardSwish } from "./hard-activations.ts";
import { layerNormalization } from "./layer-normalization.ts";
import { leakyRelu, pRelu } from "./leaky-relu.ts";
import { lrn } from "./lrn.ts";
import { matMul } from "./matmul.ts";
import { maxPool } from "./max-pool.ts";
import { abs, neg } from "./neg-abs.ts";
import { exp, reciprocal, sigmoid, sqrt, tanh } from "./output-derivative.ts";
import { pad } from "./pad.ts";
import { cast, dropout, identity } from "./pass-through.ts";
import { pow } from "./pow.ts";
import {
  reduceL1,
  reduceL2,
  reduceLogSumExp,
  reduceMax,
  reduceMean,
  reduceMin,
  reduceSum,
  reduceSumSquare,
} from "./reduce.ts";
import { relu } from "./relu.ts";
import { flatten, reshape, squeeze, unsqueeze } from "./reshape-like.ts";
import { resize, upsample } from "./resize.ts";
import { slice } from "./slice.ts";
import { logSoftmax, softmax } from "./softmax.ts";
import { split } from "./split.ts";
import { sum } from "./sum.ts";
import { tile } from "./tile.ts";
import { transpose } from "./transpose.ts";
import { where } from "./where.ts";

export const gradientRules: readonly OpRule[] = [
  abs,
  add,
  averagePool,
  batchNormalization,
  cast,
  clip,
  concat,
  conv,
  div,
  dropout,
  erf,
  exp,
  expand,
  flatten,
  gather,
  gelu,
  gemm,
  globalAveragePool,
  globalMaxPool,
  hardSigmoid,
  hardSwish,
  identity,
  layerNormalization,
  leakyRelu,
  logSoftmax,
  lrn,
  matMul,
  maxPool,
  mul,
  neg,
  pad,
  pow,
  pRelu,
  reciprocal,
  reduceL1,
  reduceL2,
  reduceLogSumExp,
  reduceMax,
  reduceMean,
  reduceMin,
  reduceSum,
  reduceSumSquare,
  relu,
  reshape,
  resize,
  sigmoid,
  slice,
  softmax,
  split,
  sqrt,
  squeeze,
  sub,
  sum,
  tanh,
  tile,
  transpose,
  unsqueeze,
  upsample,
  where,
];

/** The exact gradient (vector-Jacobian product) of every op. */
export const exactGradient = ruleSet("gradient", gradientRules, "gradient");
