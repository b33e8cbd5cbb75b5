// Half-precision models run in float32. Widening float16 (or bfloat16) to float32 is exact, so the
// weights are the model's own; only the arithmetic is done at float32 precision, which the backward
// compiler and every method need anyway (ONNX Runtime's CPU kernels cover few float16 ops). A map
// therefore equals the one of the same weights stored as float32; logits differ from a float16
// engine's only by that engine's float16 rounding of activations.
import { elemTypes } from "../../onnx/elem-types.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import {
  AttributeType,
  DataType,
  type TensorProto,
  type ValueInfoProto,
} from "../../onnx/proto.ts";

const HALF_TYPES = new Set<number>([DataType.FLOAT16, DataType.BFLOAT16]);

/** float16 bits to the float32 value they represent (exact). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function bfloat16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** The 16-bit patterns of a half tensor: raw little-endian bytes, or int32_data per the spec. */
function halfBits(t: TensorProto): Uint16Array {
  const raw = t.raw_data;
  if (raw && raw.byteLength > 0) {
    const bits = new Uint16Array(raw.byteLength / 2);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, true);
    return bits;
  }
  return Uint16Array.from(t.int32_data ?? []);
}

/** A float32 copy of a float16/bfloat16 tensor, or undefined for any other tensor. */
function widened(t: TensorProto): TensorProto | undefined {
  if (!HALF_TYPES.has(t.data_type ?? 0)) return undefined;
  const decode = t.data_type === DataType.FLOAT16 ? halfToFloat : bfloat16ToFloat;
  const bits = halfBits(t);
  const values = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) values[i] = decode(bits[i]!);
  const copy: TensorProto = {
    ...t,
    data_type: DataType.FLOAT,
    raw_data: new Uint8Array(values.buffer),
  };
  delete copy.int32_data;
  return copy;
}

function widenValueInfo(v: ValueInfoProto): boolean {
  const tt = v.type?.tensor_type;
  if (!tt || !HALF_TYPES.has(tt.elem_type ?? 0)) return false;
  tt.elem_type = DataType.FLOAT;
  return true;
}

export interface WidenResult {
  /** Initializers and constants widened. */
  tensors: number;
  /** Whether the model's input or output was half precision. */
  halfIo: boolean;
  /** Cast nodes retargeted from half to float32. */
  casts: number;
}

/**
 * Widens every half-precision tensor, value type and Cast target of `model` to float32: the
 * graph's lists get new tensors and attributes (the tensors of the model it was cloned from are
 * left alone). Returns what changed; all zeros for a float32 model.
 */
export function widenHalfPrecision(model: OnnxModel): WidenResult {
  const g = model.graph;
  let tensors = 0;
  let casts = 0;
  g.initializer = g.initializer.map((t) => {
    const w = widened(t);
    if (w) tensors++;
    return w ?? t;
  });
  for (const node of g.node) {
    node.attribute = node.attribute.map((a) => {
      const t = a.type === AttributeType.TENSOR && a.t ? widened(a.t) : undefined;
      if (t) {
        tensors++;
        return { ...a, t };
      }
      // Cast's `to` and the dtype of generators (RandomNormal, EyeLike, ...).
      if ((a.name === "to" || a.name === "dtype") && a.i !== undefined && HALF_TYPES.has(a.i)) {
        casts++;
        return { ...a, i: DataType.FLOAT };
      }
      return a;
    });
  }
  // Casts between float16 and float32 at the boundaries (keep_io_types exports) now cast float32
  // to itself: plain Identity nodes, which every rule set passes through.
  const types = elemTypes(model);
  g.node = g.node.map((node) =>
    node.op_type === "Cast" &&
    types.get(node.input[0] ?? "") === DataType.FLOAT &&
    node.attribute.find((a) => a.name === "to")?.i === DataType.FLOAT
      ? { ...node, op_type: "Identity", attribute: [] }
      : node,
  );
  const io = [...model.inputs(), ...g.output];
  const halfIo = io.some((v) => HALF_TYPES.has(v.type?.tensor_type?.elem_type ?? 0));
  for (const v of [...g.input, ...g.output, ...g.value_info]) widenValueInfo(v);
  return { tensors, halfIo, casts };
}
