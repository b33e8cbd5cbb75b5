// The registry of gradient rules, one module per op (or per family of ops sharing a rule).
import { ruleSet, type OpRule } from "../rule.ts";
import { batchNormalization } from "./batch-normalization.ts";
import { clip } from "./clip.ts";
import { conv } from "./conv.ts";
import { add, div, mul, sub } from "./elementwise-arithmetic.ts";
import { gemm } from "./gemm.ts";
import { globalAveragePool } from "./global-average-pool.ts";
import { maxPool } from "./max-pool.ts";
import { dropout, identity } from "./pass-through.ts";
import { relu } from "./relu.ts";
import { flatten, reshape, squeeze, unsqueeze } from "./reshape-like.ts";

export const gradientRules: readonly OpRule[] = [
  add,
  batchNormalization,
  clip,
  conv,
  div,
  dropout,
  flatten,
  gemm,
  globalAveragePool,
  identity,
  maxPool,
  mul,
  relu,
  reshape,
  squeeze,
  sub,
  unsqueeze,
];

/** The exact gradient (vector-Jacobian product) of every op. */
export const exactGradient = ruleSet("gradient", gradientRules);
