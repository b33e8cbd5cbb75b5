// The versions of the ONNX operators the opset upgrade knows: for each operator of the default
// domain, the opsets at which a new version of it appeared (its "since_version"s, from the ONNX
// operator changelog, up to opset 21). A node in a model at opset N is the operator's newest
// version at or below N; an operator missing here is one the upgrade cannot vouch for.

export const MAX_TARGET_OPSET = 21;

export const OP_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  Abs: [1, 6, 13],
  Acos: [7],
  Acosh: [9],
  Add: [1, 6, 7, 13, 14],
  And: [1, 7],
  ArgMax: [1, 11, 12, 13],
  ArgMin: [1, 11, 12, 13],
  Asin: [7],
  Asinh: [9],
  Atan: [7],
  Atanh: [9],
  AveragePool: [1, 7, 10, 11, 19],
  BatchNormalization: [1, 6, 7, 9, 14, 15],
  Cast: [1, 6, 9, 13, 19, 21],
  CastLike: [15, 19, 21],
  Ceil: [1, 6, 13],
  Celu: [12],
  Clip: [1, 6, 11, 12, 13],
  Compress: [9, 11],
  Concat: [1, 4, 11, 13],
  Constant: [1, 9, 11, 12, 13, 19, 21],
  ConstantOfShape: [9, 20, 21],
  Conv: [1, 11],
  ConvTranspose: [1, 11],
  Cos: [7],
  Cosh: [9],
  CumSum: [11, 14],
  DepthToSpace: [1, 11, 13],
  Det: [11],
  Div: [1, 6, 7, 13, 14],
  Dropout: [1, 6, 7, 10, 12, 13],
  Einsum: [12],
  Elu: [1, 6],
  Equal: [1, 7, 11, 13, 19],
  Erf: [9, 13],
  Exp: [1, 6, 13],
  Expand: [8, 13],
  EyeLike: [9],
  Flatten: [1, 9, 11, 13, 21],
  Floor: [1, 6, 13],
  Gather: [1, 11, 13],
  GatherElements: [11, 13],
  GatherND: [11, 12, 13],
  Gelu: [20],
  Gemm: [1, 6, 7, 9, 11, 13],
  GlobalAveragePool: [1],
  GlobalLpPool: [1, 2],
  GlobalMaxPool: [1],
  Greater: [1, 7, 9, 13],
  GreaterOrEqual: [12, 16],
  GroupNormalization: [18, 21],
  HardSigmoid: [1, 6],
  HardSwish: [14],
  Hardmax: [1, 11, 13],
  Identity: [1, 13, 14, 16, 19, 21],
  InstanceNormalization: [1, 6],
  IsInf: [10, 20],
  IsNaN: [9, 13, 20],
  LRN: [1, 13],
  LayerNormalization: [17],
  LeakyRelu: [1, 6, 16],
  Less: [1, 7, 9, 13],
  LessOrEqual: [12, 16],
  Log: [1, 6, 13],
  LogSoftmax: [1, 11, 13],
  LpPool: [1, 2, 11, 18],
  MatMul: [1, 9, 13],
  Max: [1, 6, 8, 12, 13],
  MaxPool: [1, 8, 10, 11, 12],
  Mean: [1, 6, 8, 13],
  MeanVarianceNormalization: [9, 13],
  Min: [1, 6, 8, 12, 13],
  Mish: [18],
  Mod: [10, 13],
  Mul: [1, 6, 7, 13, 14],
  Neg: [1, 6, 13],
  NonZero: [9, 13],
  Not: [1],
  OneHot: [9, 11],
  Or: [1, 7],
  PRelu: [1, 6, 7, 9, 16],
  Pad: [1, 2, 11, 13, 18, 19, 21],
  Pow: [1, 7, 12, 13, 15],
  Range: [11],
  Reciprocal: [1, 6, 13],
  ReduceL1: [1, 11, 13, 18],
  ReduceL2: [1, 11, 13, 18],
  ReduceLogSum: [1, 11, 13, 18],
  ReduceLogSumExp: [1, 11, 13, 18],
  ReduceMax: [1, 11, 12, 13, 18, 20],
  ReduceMean: [1, 11, 13, 18],
  ReduceMin: [1, 11, 12, 13, 18, 20],
  ReduceProd: [1, 11, 13, 18],
  ReduceSum: [1, 11, 13],
  ReduceSumSquare: [1, 11, 13, 18],
  Relu: [1, 6, 13, 14],
  Reshape: [1, 5, 13, 14, 19, 21],
  Resize: [10, 11, 13, 18, 19],
  Round: [11],
  ScatterElements: [11, 13, 16, 18],
  ScatterND: [11, 13, 16, 18],
  Selu: [1, 6],
  Shape: [1, 13, 15, 19, 21],
  Sigmoid: [1, 6, 13],
  Sign: [9, 13],
  Sin: [7],
  Sinh: [9],
  Size: [1, 13, 19, 21],
  Slice: [1, 10, 11, 13],
  Softmax: [1, 11, 13],
  Softplus: [1],
  Softsign: [1],
  SpaceToDepth: [1, 13],
  Split: [1, 2, 11, 13, 18],
  Sqrt: [1, 6, 13],
  Squeeze: [1, 11, 13, 21],
  Sub: [1, 6, 7, 13, 14],
  Sum: [1, 6, 8, 13],
  Tan: [7],
  Tanh: [1, 6, 13],
  ThresholdedRelu: [10],
  Tile: [1, 6, 13],
  TopK: [1, 10, 11],
  Transpose: [1, 13, 21],
  Trilu: [14],
  Unsqueeze: [1, 11, 13, 21],
  Upsample: [1, 7, 9],
  Where: [9, 16],
  Xor: [1, 7],
};

/** Operators removed from the default domain, with the opset that removed them. */
export const DEPRECATED_AT: Readonly<Record<string, number>> = { Upsample: 10 };

/**
 * The version of `op` a model at `opset` uses, or undefined when the operator does not exist at
 * that opset (not yet introduced, or deprecated).
 */
export function opVersion(op: string, opset: number): number | undefined {
  const versions = OP_VERSIONS[op];
  if (!versions) return undefined;
  const deprecated = DEPRECATED_AT[op];
  if (deprecated !== undefined && opset >= deprecated) return undefined;
  let found: number | undefined;
  for (const v of versions) if (v <= opset) found = v;
  return found;
}

/**
 * The IR version a target opset needs: the one of the ONNX release that introduced the opset
 * (1.8: opset 13 with IR 7; 1.10: 15 with IR 8; 1.14: 19 with IR 9; 1.16: 21 with IR 10).
 */
export function irVersionFor(opset: number): number {
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  return 7;
}
