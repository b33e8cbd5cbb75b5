// Emits the nodes and constants of an appended subgraph, with fresh names and the opset-dependent
// forms of the ops whose signature changed (axes as attribute before opset 13 and as input from
// 13, or from 18 for the reductions other than ReduceSum).
import { makeAttr, type AttrValue } from "../onnx/attributes.ts";
import { DataType, type NodeProto, type TensorProto } from "../onnx/proto.ts";
import { floatTensor, int64Tensor } from "../onnx/tensor.ts";

/**
 * Appends nodes and constants to the graph a backward rule is building, with fresh value names
 * and the forms of ops that changed signature across opsets. A rule gets one as
 * {@link RuleContext.b}.
 */
export class GraphBuilder {
  /** The nodes appended so far. */
  readonly nodes: NodeProto[] = [];
  /** The constants appended so far. */
  readonly initializers: TensorProto[] = [];
  /** The model's default-domain opset, which picks op forms. */
  readonly opset: number;
  private readonly prefix: string;
  private counter = 0;
  private readonly int64Cache = new Map<string, string>();
  private readonly scalarCache = new Map<number, string>();

  constructor(opset: number, prefix: string) {
    this.opset = opset;
    this.prefix = prefix;
  }

  /** A value name no model value uses (the prefix is reserved for camscope). */
  fresh(hint: string): string {
    return `${this.prefix}/${hint}_${this.counter++}`;
  }

  /** Appends a node and returns its output names. */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
  ): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(op));
    this.nodes.push({
      op_type: op,
      name: this.fresh(`${op}_node`),
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    });
    return names;
  }

  /** Appends a single-output node and returns its output name. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  /** A float32 constant (stored as an initializer). */
  floats(
    values: Float32Array | readonly number[],
    dims: readonly number[],
    hint = "const",
  ): string {
    const name = this.fresh(hint);
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  /** A float32 scalar constant, shared between uses. */
  scalar(value: number): string {
    let name = this.scalarCache.get(value);
    if (!name) {
      name = this.floats([value], [], "scalar");
      this.scalarCache.set(value, name);
    }
    return name;
  }

  /** A 1-D int64 constant, shared between uses. */
  int64s(values: readonly number[]): string {
    const key = values.join(",");
    let name = this.int64Cache.get(key);
    if (!name) {
      name = this.fresh("i64");
      this.initializers.push(int64Tensor(name, [values.length], values));
      this.int64Cache.set(key, name);
    }
    return name;
  }

  /** a + b (broadcasting). */
  add(a: string, b: string): string {
    return this.op("Add", [a, b]);
  }

  /** a * b (broadcasting). */
  mul(a: string, b: string): string {
    return this.op("Mul", [a, b]);
  }

  /** A float 0/1 mask of a boolean comparison (Mul by a Cast mask is faster than Where in ORT). */
  mask(
    comparison: "Greater" | "Less" | "Equal" | "GreaterOrEqual" | "LessOrEqual",
    a: string,
    b: string,
  ): string {
    return this.op("Cast", [this.op(comparison, [a, b])], { to: DataType.FLOAT });
  }

  /** Sum over `axes` (axes as input from opset 13, attribute before); no axes: `x` itself. */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce("ReduceSum", x, axes, keepdims);
  }

  /** ReduceMean over `axes` (axes as attribute before opset 18 and as input from it). */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce("ReduceMean", x, axes, keepdims);
  }

  /** A reduction over `axes` (none: `x` itself), axes as input from ReduceSum-13 and the others' 18. */
  private reduce(
    op: "ReduceSum" | "ReduceMean",
    x: string,
    axes: readonly number[],
    keepdims: boolean,
  ): string {
    if (axes.length === 0) return x;
    const keep = keepdims ? 1 : 0;
    if (this.opset >= (op === "ReduceSum" ? 13 : 18)) {
      return this.op(op, [x, this.int64s(axes)], { keepdims: keep });
    }
    return this.op(op, [x], { axes: [...axes], keepdims: keep });
  }

  /** `x` with size-1 axes inserted at `axes` (as input from opset 13, attribute before). */
  unsqueeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op("Unsqueeze", [x, this.int64s(axes)]);
    return this.op("Unsqueeze", [x], { axes: [...axes] });
  }

  /** Slices `axes` with step 1 (starts/ends as inputs from opset 10, attributes before). */
  slice(
    x: string,
    starts: readonly number[],
    ends: readonly number[],
    axes: readonly number[],
  ): string {
    if (this.opset < 10) {
      return this.op("Slice", [x], { starts: [...starts], ends: [...ends], axes: [...axes] });
    }
    return this.op("Slice", [x, ...[starts, ends, axes].map((v) => this.int64s(v))]);
  }

  /**
   * Zero-pads each axis by `pads` ([begins..., ends...], one pair per axis of `x`), cropping where
   * a pad is negative: a Slice for the crops, then a constant Pad (pads as input from opset 11).
   */
  padZeros(x: string, pads: readonly number[]): string {
    const rank = pads.length / 2;
    const cropAxes: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let a = 0; a < rank; a++) {
      const begin = pads[a]!;
      const end = pads[rank + a]!;
      if (begin >= 0 && end >= 0) continue;
      cropAxes.push(a);
      starts.push(Math.max(0, -begin));
      // A negative end counts from the axis end, so the crop needs no static size.
      ends.push(end < 0 ? end : Number.MAX_SAFE_INTEGER);
    }
    const cropped = cropAxes.length > 0 ? this.slice(x, starts, ends, cropAxes) : x;
    const grow = pads.map((p) => Math.max(0, p));
    if (grow.every((p) => p === 0)) return cropped;
    if (this.opset >= 11) return this.op("Pad", [cropped, this.int64s(grow)]);
    return this.op("Pad", [cropped], { pads: grow });
  }

  /** Splits along an axis into parts of the given sizes. */
  split(x: string, axis: number, sizes: readonly number[]): string[] {
    if (this.opset >= 13)
      return this.node("Split", [x, this.int64s(sizes)], { axis }, sizes.length);
    return this.node("Split", [x], { axis, split: [...sizes] }, sizes.length);
  }

  /** The runtime shape of `x`, a 1-D int64 value. */
  shape(x: string): string {
    return this.op("Shape", [x]);
  }

  /** `x` reshaped to the runtime shape of `like`. */
  reshapeLike(x: string, like: string): string {
    return this.op("Reshape", [x, this.shape(like)]);
  }

  /** Zeros shaped like `like` at run time. */
  zerosLike(like: string): string {
    return this.op("ConstantOfShape", [this.shape(like)], { value: floatTensor("", [1], [0]) });
  }
}
