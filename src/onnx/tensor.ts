// Conversions between ONNX TensorProtos and typed arrays.
import { CamscopeError } from "../errors.ts";
import { DataType, type TensorProto } from "./proto.ts";

export type NumericArray =
  Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

function copyBytes(raw: Uint8Array): ArrayBuffer {
  // raw_data is usually a view into the whole model buffer at an arbitrary (unaligned) offset.
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

/** Decodes a TensorProto's data into a typed array of its element type. */
export function tensorData(t: TensorProto): NumericArray {
  const raw = t.raw_data && t.raw_data.byteLength > 0 ? t.raw_data : undefined;
  if (t.data_location === 1) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Tensor "${t.name ?? ""}" stores its data in an external file, which camscope does not load`,
    );
  }
  switch (t.data_type) {
    case DataType.FLOAT:
      return raw ? new Float32Array(copyBytes(raw)) : Float32Array.from(t.float_data ?? []);
    case DataType.DOUBLE:
      return raw ? new Float64Array(copyBytes(raw)) : Float64Array.from(t.double_data ?? []);
    case DataType.INT64:
      return raw
        ? new BigInt64Array(copyBytes(raw))
        : BigInt64Array.from((t.int64_data ?? []).map((v) => BigInt(v)));
    case DataType.INT32:
      return raw ? new Int32Array(copyBytes(raw)) : Int32Array.from(t.int32_data ?? []);
    case DataType.UINT8:
    case DataType.BOOL:
      return raw ? new Uint8Array(copyBytes(raw)) : Uint8Array.from(t.int32_data ?? []);
    case DataType.INT8:
      return raw ? new Int8Array(copyBytes(raw)) : Int8Array.from(t.int32_data ?? []);
    default:
      throw new CamscopeError(
        "MODEL_LOAD",
        `Tensor "${t.name ?? ""}" has data type ${t.data_type}, which camscope cannot read`,
      );
  }
}

/** A tensor's values as plain numbers (int64 converted; for shapes, axes and small constants). */
export function tensorNumbers(t: TensorProto): number[] {
  const data = tensorData(t);
  const out: number[] = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

function rawBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** A TensorProto of any fixed-size element type from its values' bytes (BOOL: one byte each). */
export function rawTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  data: ArrayBufferView,
): TensorProto {
  return { name, dims: [...dims], data_type: dataType, raw_data: rawBytes(data) };
}

/** A float32 TensorProto. */
export function floatTensor(
  name: string,
  dims: readonly number[],
  data: Float32Array | readonly number[],
): TensorProto {
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  return { name, dims: [...dims], data_type: DataType.FLOAT, raw_data: rawBytes(values) };
}

/** An int64 TensorProto (shapes, axes, indices). */
export function int64Tensor(
  name: string,
  dims: readonly number[],
  data: readonly number[],
): TensorProto {
  return {
    name,
    dims: [...dims],
    data_type: DataType.INT64,
    raw_data: rawBytes(BigInt64Array.from(data.map((v) => BigInt(v)))),
  };
}
