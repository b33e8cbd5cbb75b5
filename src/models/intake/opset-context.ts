// What an opset-upgrade rule sees of the model: the node being converted, the values' ranks,
// dims, element types and constant contents, fresh names, new constants, and the error and change
// log of the upgrade.
import { CamscopeError } from "../../errors.ts";
import { makeAttr, type AttrValue } from "../../onnx/attributes.ts";
import { elemTypes } from "../../onnx/elem-types.ts";
import { valueInfoDims, type OnnxModel } from "../../onnx/model.ts";
import { DataType, type NodeProto, type TensorProto } from "../../onnx/proto.ts";
import { int64Tensor, tensorNumbers } from "../../onnx/tensor.ts";

/**
 * An opset-upgrade rule: the replacement of one node, given the node's operator version at the
 * model's opset.
 */
export type Rule = (node: NodeProto, cx: UpgradeContext, version: number) => NodeProto[];

/** The largest double below 2^63, so that BigInt(v) fits an int64. */
const INT64_LIMIT = 2 ** 63 - 1024;

export class UpgradeContext {
  readonly model: OnnxModel;
  /** The model's default-domain opset before the upgrade. */
  readonly from: number;
  readonly target: number;
  /** The node being converted and its position in the original node list. */
  node!: NodeProto;
  index = 0;
  /** Constants the rules add; appended to the graph's initializers. */
  readonly initializers: TensorProto[] = [];
  private readonly shapes: ReadonlyMap<string, number[]> | undefined;
  private readonly names = new Set<string>();
  private readonly declared = new Map<string, (number | undefined)[]>();
  private readonly constants = new Map<string, TensorProto>();
  private readonly consumers = new Map<string, number>();
  private readonly graphOutputs: Set<string>;
  private readonly types: Map<string, number>;
  private readonly changes = new Map<string, number>();
  private counter = 0;

  constructor(
    model: OnnxModel,
    from: number,
    target: number,
    shapes: ReadonlyMap<string, number[]> | undefined,
  ) {
    this.model = model;
    this.from = from;
    this.target = target;
    this.shapes = shapes;
    const g = model.graph;
    for (const t of g.initializer) {
      if (!t.name) continue;
      this.names.add(t.name);
      this.constants.set(t.name, t);
    }
    for (const v of [...g.input, ...g.output, ...g.value_info]) {
      this.names.add(v.name);
      const dims = valueInfoDims(v);
      if (dims) this.declared.set(v.name, dims);
    }
    for (const n of g.node) {
      if (n.name) this.names.add(n.name);
      for (const o of n.output) if (o) this.names.add(o);
      for (const i of n.input) if (i) this.consumers.set(i, (this.consumers.get(i) ?? 0) + 1);
      const value = n.op_type === "Constant" && !n.domain ? constantAttr(n) : undefined;
      if (value && n.output[0]) this.constants.set(n.output[0], value);
    }
    this.graphOutputs = new Set(g.output.map((o) => o.name));
    this.types = elemTypes(model);
  }

  /** The node as errors name it: its name, or its position when it has none. */
  get label(): string {
    return this.node.name ? `"${this.node.name}"` : `#${this.index}`;
  }

  /** An UNSUPPORTED_MODEL error about the current node. */
  fail(cause: string): never {
    throw new CamscopeError(
      "UNSUPPORTED_MODEL",
      `Model "${this.model.source}" node ${this.label} (${this.node.op_type}, opset ${this.from}): ${cause}`,
    );
  }

  /** Records a change; identical changes of several nodes are reported once, with a count. */
  note(change: string): void {
    const key = `${this.node.op_type}: ${change}`;
    this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
  }

  changeLog(): string[] {
    return [...this.changes].map(([key, n]) => (n > 1 ? `${key} (${n} nodes)` : key));
  }

  /** A value name that no value, node or initializer of the model uses. */
  fresh(hint: string): string {
    const base = this.node.name || `${this.node.op_type}_${this.index}`;
    let name: string;
    do name = `${base}/opset${this.target}_${hint}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  /** A new node (its name fresh); outputs default to one fresh value. */
  makeNode(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outputs: readonly string[] = [this.fresh(op)],
  ): NodeProto {
    return {
      op_type: op,
      name: this.fresh(`${op}_node`),
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    };
  }

  /**
   * A 1-D int64 constant. Attribute int64s arrive as JS numbers, so INT64_MAX (the usual "to the
   * end" of Slice) reads as 2^63, which would wrap to INT64_MIN: values are clamped to int64.
   */
  int64s(values: readonly number[], hint: string): string {
    const clamped = values.map((v) => Math.max(-INT64_LIMIT, Math.min(INT64_LIMIT, v)));
    return this.constant(int64Tensor(this.fresh(hint), [values.length], clamped));
  }

  /** A constant of the given element type (float32, float64 or float16) and dims. */
  typed(
    values: readonly number[],
    dims: readonly number[],
    elemType: number,
    hint: string,
  ): string {
    return this.constant(
      typedTensor(this.fresh(hint), dims, values, elemType, () =>
        this.fail(`needs a constant of element type ${elemType}, which the upgrade cannot write`),
      ),
    );
  }

  private constant(t: TensorProto): string {
    this.initializers.push(t);
    this.constants.set(t.name!, t);
    return t.name!;
  }

  /** The element type of a value, float when nothing says otherwise. */
  elemType(name: string): number {
    return this.types.get(name) ?? DataType.FLOAT;
  }

  /** The dims of a value when fully known (probe shapes, an initializer, a static value_info). */
  dims(name: string): number[] | undefined {
    const probed = this.shapes?.get(name);
    if (probed) return [...probed];
    const c = this.constants.get(name);
    if (c) return [...(c.dims ?? [])];
    const declared = this.declared.get(name);
    if (declared && declared.every((d) => d !== undefined)) return declared as number[];
    return undefined;
  }

  /** The rank of a value when known, even with symbolic dims. */
  rank(name: string): number | undefined {
    return this.dims(name)?.length ?? this.declared.get(name)?.length;
  }

  /** The values of an initializer or Constant output, or undefined for a computed value. */
  constantValues(name: string): number[] | undefined {
    const t = this.constants.get(name);
    return t ? tensorNumbers(t) : undefined;
  }

  /** Whether any node reads the value or the graph outputs it. */
  isUsed(name: string): boolean {
    return name !== "" && ((this.consumers.get(name) ?? 0) > 0 || this.graphOutputs.has(name));
  }
}

function constantAttr(node: NodeProto): TensorProto | undefined {
  const a = node.attribute.find((x) => x.name === "value");
  return a?.t;
}

/** Float32 to IEEE half bits, rounding to nearest even. */
export function halfBits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  // A carry out of the mantissa bumps the exponent, as rounding up should.
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

function typedTensor(
  name: string,
  dims: readonly number[],
  values: readonly number[],
  elemType: number,
  unsupported: () => never,
): TensorProto {
  let data: ArrayBufferView;
  switch (elemType) {
    case DataType.FLOAT:
      data = Float32Array.from(values);
      break;
    case DataType.DOUBLE:
      data = Float64Array.from(values);
      break;
    case DataType.FLOAT16:
      data = Uint16Array.from(values, halfBits);
      break;
    default:
      return unsupported();
  }
  const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  return { name, dims: [...dims], data_type: elemType, raw_data: raw };
}
