// Plain-object views of the ONNX protobuf messages, as protobufjs's `toObject` yields them with
// int64 fields converted to numbers. Only the fields camscope reads or writes are typed; every
// other field of the message is still carried through a round trip untouched.

export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  uint64_data?: number[];
  string_data?: Uint8Array[];
  data_location?: number;
  [field: string]: unknown;
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info: ValueInfoProto[];
  [field: string]: unknown;
}

export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  [field: string]: unknown;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute: AttributeProto[];
  [field: string]: unknown;
}

export interface TensorShapeDimension {
  dim_value?: number;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDimension[] } };
  [field: string]: unknown;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  [field: string]: unknown;
}

export interface OperatorSetIdProto {
  domain?: string;
  version: number;
}

export interface ModelProto {
  ir_version?: number;
  opset_import: OperatorSetIdProto[];
  producer_name?: string;
  graph: GraphProto;
  [field: string]: unknown;
}

/** onnx.TensorProto.DataType values camscope meets. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

/** onnx.AttributeProto.AttributeType values. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;
