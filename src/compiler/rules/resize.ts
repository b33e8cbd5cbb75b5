import { attrFloats, attrInt, attrInts, attrString } from "../../onnx/attributes.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule, RuleContext } from "../rule.ts";

// Nearest and linear resizing of [N, C, H, W] are separable linear maps: Y = R_h . X . R_w^T per
// channel, with R_h [OH, H] and R_w [OW, W] fixed by the static sizes. They are built here the way
// ONNX Runtime samples (float32 coordinates, its rounding and clamping), and the gradient is
// dX = R_h^T . dY . R_w, two MatMuls.

const f = Math.fround;

interface Sampling {
  mode: string;
  coordinates: string;
  /** "" is the rounding of Upsample and Resize-10: ceil when downsampling, else truncation. */
  nearest: string;
}

/** The source coordinate of output position x along an axis (ONNX Runtime's float32 formulas). */
function sourceCoordinate(
  mode: string,
  x: number,
  scale: number,
  outSize: number,
  inSize: number,
): number {
  switch (mode) {
    case "asymmetric":
      return f(x / scale);
    case "align_corners":
      return outSize === 1 ? 0 : f(f(x * (inSize - 1)) / (outSize - 1));
    case "pytorch_half_pixel":
      return outSize > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case "tf_half_pixel_for_nn":
      return f(f(x + 0.5) / scale);
    case "half_pixel_symmetric": {
      const adjustment = f(outSize / f(scale * inSize));
      const offset = f(f(inSize / 2) * f(1 - adjustment));
      return f(offset + (x + 0.5) / scale - 0.5);
    }
    default: // half_pixel
      return f(f(f(x + 0.5) / scale) - 0.5);
  }
}

function nearestIndex(rounding: string, v: number, scale: number): number {
  switch (rounding) {
    case "":
      return scale < 1 ? Math.ceil(v) : Math.trunc(v);
    case "floor":
      return Math.floor(v);
    case "ceil":
      return Math.ceil(v);
    case "round_prefer_ceil":
      return Math.sign(v) * Math.round(Math.abs(v));
    default: // round_prefer_floor
      return v === Math.trunc(v) + 0.5 ? Math.floor(v) : Math.sign(v) * Math.round(Math.abs(v));
  }
}

/** R [outSize, inSize] for one axis, or undefined where it is the identity (scale exactly 1). */
function axisMatrix(
  s: Sampling,
  scale: number,
  inSize: number,
  outSize: number,
): Float32Array | undefined {
  if (scale === 1) return undefined;
  const r = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const v = sourceCoordinate(s.coordinates, o, scale, outSize, inSize);
    if (s.mode === "nearest") {
      r[o * inSize + Math.min(Math.max(nearestIndex(s.nearest, v, scale), 0), inSize - 1)] = 1;
      continue;
    }
    const c = Math.max(0, Math.min(v, inSize - 1));
    const i1 = Math.min(Math.trunc(c), inSize - 1);
    const i2 = Math.min(i1 + 1, inSize - 1);
    // ONNX Runtime weighs i1 by |c - i2| and i2 by |c - i1| (0.5 each when they coincide).
    const w1 = i1 === i2 ? 0.5 : f(Math.abs(c - i2));
    const w2 = i1 === i2 ? 0.5 : f(Math.abs(c - i1));
    r[o * inSize + i1]! += w1;
    r[o * inSize + i2]! += w2;
  }
  return r;
}

/** A constant input's values; undefined if absent, empty or computed at run time. */
function constantInput(ctx: RuleContext, k: number): number[] | undefined {
  const name = ctx.node.input[k];
  if (!name) return undefined;
  const t = ctx.constant(name);
  if (!t) return undefined;
  const values = tensorNumbers(t);
  return values.length > 0 ? values : undefined;
}

/**
 * The scale per axis that ONNX Runtime uses in the coordinate formulas: the scales given, or with
 * sizes output / input in float32, adjusted by keep_aspect_ratio_policy (opset 18).
 */
function scales(ctx: RuleContext, inDims: number[], outDims: number[]): number[] {
  const { node, b } = ctx;
  const rank = inDims.length;
  if (node.op_type === "Upsample" && b.opset < 9) return attrFloats(node, "scales") ?? [];
  const scalesIndex = node.op_type === "Upsample" || b.opset < 11 ? 1 : 2;
  const axes = (attrInts(node, "axes") ?? []).map((a) => (a < 0 ? a + rank : a));
  const onAxes = (values: number[], fill: (a: number) => number): number[] => {
    if (axes.length === 0) return values;
    const all = inDims.map((_, a) => fill(a));
    axes.forEach((a, i) => (all[a] = values[i]!));
    return all;
  };
  const given = constantInput(ctx, scalesIndex);
  if (given) return onAxes(given.map(f), () => 1);
  const sizesName = scalesIndex === 2 ? node.input[3] : undefined;
  if (!sizesName) {
    throw ctx.unsupported(
      "it computes its scales at run time; camscope needs constant scales (or sizes)",
    );
  }
  const policy = attrString(node, "keep_aspect_ratio_policy", "stretch");
  if (policy === "stretch") return outDims.map((o, a) => f(o / inDims[a]!));
  // The policy scales every listed axis by the smallest (not_larger) or largest requested ratio.
  const sizes = constantInput(ctx, 3);
  if (!sizes) {
    throw ctx.unsupported(
      `it computes its sizes at run time with keep_aspect_ratio_policy ${policy}`,
    );
  }
  const requested = onAxes(sizes, (a) => inDims[a]!);
  const ratios = requested.map((s, a) => f(s / inDims[a]!));
  const listed = axes.length > 0 ? axes.map((a) => ratios[a]!) : ratios;
  const common = policy === "not_larger" ? Math.min(...listed) : Math.max(...listed);
  return inDims.map((_, a) => (axes.length === 0 || axes.includes(a) ? common : 1));
}

function sampling(ctx: RuleContext): Sampling {
  const { node, b } = ctx;
  const mode = attrString(node, "mode", "nearest");
  if (mode !== "nearest" && mode !== "linear") {
    throw ctx.unsupported(`it has mode "${mode}"; camscope supports nearest and linear`);
  }
  if (attrInt(node, "antialias", 0) !== 0) {
    throw ctx.unsupported("it is antialiased, which camscope does not support");
  }
  if (node.op_type === "Upsample" || b.opset < 11) {
    return { mode, coordinates: "asymmetric", nearest: "" };
  }
  const coordinates = attrString(node, "coordinate_transformation_mode", "half_pixel");
  if (coordinates === "tf_crop_and_resize") {
    throw ctx.unsupported(
      "it uses coordinate_transformation_mode tf_crop_and_resize, which camscope does not support",
    );
  }
  return { mode, coordinates, nearest: attrString(node, "nearest_mode", "round_prefer_floor") };
}

const resizeRule = (ctx: RuleContext): void => {
  const { b, node } = ctx;
  const x = node.input[0]!;
  const inDims = ctx.dims(x);
  const outDims = ctx.dims(node.output[0]!);
  const dy = ctx.gradOut()!;
  const s = sampling(ctx);
  // ONNX Runtime copies the input unchanged when the sizes match, whatever the scales.
  if (outDims.every((d, a) => d === inDims[a])) {
    ctx.setGrad(0, dy);
    return;
  }
  const perAxis = scales(ctx, inDims, outDims);
  if (inDims.length !== 4 || perAxis[0] !== 1 || perAxis[1] !== 1) {
    throw ctx.unsupported("it resizes axes other than H and W of a 4-D [N, C, H, W] tensor");
  }
  const [, , h, w] = inDims as [number, number, number, number];
  const [, , oh, ow] = outDims as [number, number, number, number];
  const rh = axisMatrix(s, perAxis[2]!, h, oh);
  const rw = axisMatrix(s, perAxis[3]!, w, ow);
  let g = dy;
  if (rw) g = b.op("MatMul", [g, b.floats(rw, [ow, w], "resize_w")]);
  if (rh) {
    const rhT = new Float32Array(h * oh);
    for (let o = 0; o < oh; o++) for (let i = 0; i < h; i++) rhT[i * oh + o] = rh[o * h + i]!;
    g = b.op("MatMul", [b.floats(rhT, [h, oh], "resize_h_t"), g]);
  }
  ctx.setGrad(0, g);
};

export const resize: OpRule = { op: "Resize", rule: resizeRule };

/** The deprecated Upsample (opsets 7-9): Resize-10's sampling, scales as attribute or input. */
export const upsample: OpRule = { op: "Upsample", rule: resizeRule };
