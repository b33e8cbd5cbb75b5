// Plain-object views of the ONNX protobuf messages, as protobufjs's `toObject` yields them with
// int64 fields converted to numbers. Only the fields camscope reads or writes are typed; every
// other field of the message is still carried through a round trip untouched.

/** onnx.TensorProto: a constant tensor (an initializer or a Constant's value). */
export interface TensorProto {
  /** The value name. */
  name?: string;
  /** The shape. */
  dims?: number[];
  /** The element type, a {@link DataType} value. */
  data_type?: number;
  /** The elements as little-endian bytes, the form exporters usually write. */
  raw_data?: Uint8Array;
  /** FLOAT elements when not in `raw_data`. */
  float_data?: number[];
  /** INT32, INT8, UINT8, BOOL and FLOAT16 elements when not in `raw_data`. */
  int32_data?: number[];
  /** INT64 elements when not in `raw_data`. */
  int64_data?: number[];
  /** DOUBLE elements when not in `raw_data`. */
  double_data?: number[];
  /** UINT32 and UINT64 elements when not in `raw_data`. */
  uint64_data?: number[];
  /** STRING elements. */
  string_data?: Uint8Array[];
  /** 1 when the data lives in an external file (not supported by camscope). */
  data_location?: number;
  [field: string]: unknown;
}

/** onnx.GraphProto: the computation graph. */
export interface GraphProto {
  /** The nodes, in topological order. */
  node: NodeProto[];
  /** The graph's name. */
  name?: string;
  /** Constant tensors (weights). */
  initializer: TensorProto[];
  /** Graph inputs (old exporters list initializers here too). */
  input: ValueInfoProto[];
  /** Graph outputs. */
  output: ValueInfoProto[];
  /** Types and shapes of intermediate values, where the exporter recorded them. */
  value_info: ValueInfoProto[];
  [field: string]: unknown;
}

/** onnx.AttributeProto: one attribute of a node; the field named by `type` holds the value. */
export interface AttributeProto {
  /** The attribute's name, e.g. `kernel_shape`. */
  name: string;
  /** An {@link AttributeType} value. */
  type?: number;
  /** A FLOAT value. */
  f?: number;
  /** An INT value. */
  i?: number;
  /** A STRING value, as bytes. */
  s?: Uint8Array;
  /** A TENSOR value. */
  t?: TensorProto;
  /** A GRAPH value (a subgraph of If or Loop). */
  g?: GraphProto;
  /** A FLOATS value. */
  floats?: number[];
  /** An INTS value. */
  ints?: number[];
  /** A STRINGS value. */
  strings?: Uint8Array[];
  [field: string]: unknown;
}

/** onnx.NodeProto: one op applied to named values. */
export interface NodeProto {
  /** Input value names; "" marks an omitted optional input. */
  input: string[];
  /** Output value names. */
  output: string[];
  /** The node's name, if the exporter gave one. */
  name?: string;
  /** The op, e.g. `Conv`. */
  op_type: string;
  /** The op's domain; empty or absent for standard ONNX ops. */
  domain?: string;
  /** The node's attributes. */
  attribute: AttributeProto[];
  [field: string]: unknown;
}

/** One dimension of a tensor shape: a number, a symbolic name, or neither (unknown). */
export interface TensorShapeDimension {
  /** The dimension's size, when static. */
  dim_value?: number;
  /** The dimension's symbolic name (e.g. `batch`), when dynamic. */
  dim_param?: string;
}

/** onnx.TypeProto, for tensors: the element type and the shape. */
export interface TypeProto {
  /** A tensor's element type (a {@link DataType} value) and shape. */
  tensor_type?: {
    /** The element type, a {@link DataType} value. */
    elem_type?: number;
    /** The shape, when known. */
    shape?: {
      /** The dimensions. */
      dim?: TensorShapeDimension[];
    };
  };
  [field: string]: unknown;
}

/** onnx.ValueInfoProto: a value's name, with its type and shape where known. */
export interface ValueInfoProto {
  /** The value name. */
  name: string;
  /** Its type and shape. */
  type?: TypeProto;
  [field: string]: unknown;
}

/** onnx.OperatorSetIdProto: the version of an op domain a model uses. */
export interface OperatorSetIdProto {
  /** The domain; empty or absent for standard ONNX ops. */
  domain?: string;
  /** The opset version. */
  version: number;
}

/**
 * onnx.ModelProto as a plain object (protobufjs's `toObject`, int64 fields as numbers). Only the
 * fields camscope reads or writes are typed; the others are carried through a round trip.
 */
export interface ModelProto {
  /** The ONNX IR version. */
  ir_version?: number;
  /** The opset version of every op domain the graph uses. */
  opset_import: OperatorSetIdProto[];
  /** The exporter, e.g. `pytorch`. */
  producer_name?: string;
  /** The graph. */
  graph: GraphProto;
  [field: string]: unknown;
}

/** onnx.TensorProto.DataType values camscope meets. */
export const DataType = {
  /** float32. */
  FLOAT: 1,
  /** uint8. */
  UINT8: 2,
  /** int8. */
  INT8: 3,
  /** int32. */
  INT32: 6,
  /** int64. */
  INT64: 7,
  /** bool. */
  BOOL: 9,
  /** float16. */
  FLOAT16: 10,
  /** float64. */
  DOUBLE: 11,
  /** bfloat16 (widened to float32 at load, like FLOAT16). */
  BFLOAT16: 16,
} as const;

/** onnx.AttributeProto.AttributeType values. */
export const AttributeType = {
  /** A float, in `f`. */
  FLOAT: 1,
  /** An integer, in `i`. */
  INT: 2,
  /** A string, in `s`. */
  STRING: 3,
  /** A tensor, in `t`. */
  TENSOR: 4,
  /** A graph, in `g`. */
  GRAPH: 5,
  /** Floats, in `floats`. */
  FLOATS: 6,
  /** Integers, in `ints`. */
  INTS: 7,
  /** Strings, in `strings`. */
  STRINGS: 8,
} as const;
