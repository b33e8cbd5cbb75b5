// Reading and making node attributes.
import { AttributeType, type AttributeProto, type NodeProto, type TensorProto } from "./proto.ts";

function find(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function hasAttr(node: NodeProto, name: string): boolean {
  return find(node, name) !== undefined;
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  return find(node, name)?.i ?? fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  return find(node, name)?.f ?? fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a ? [...(a.ints ?? [])] : undefined;
}

export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a ? [...(a.floats ?? [])] : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const s = find(node, name)?.s;
  return s ? new TextDecoder().decode(s) : fallback;
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return find(node, name)?.t;
}

/**
 * An attribute value for {@link GraphBuilder.node}: integers and integer lists become INT/INTS,
 * strings STRING, tensors TENSOR; floats must be marked `{ float: x }` or `{ floats: [...] }`.
 */
export type AttrValue =
  | number
  | number[]
  | string
  | TensorProto
  | {
      /** A FLOATS value. */
      floats: number[];
    }
  | {
      /** A FLOAT value. */
      float: number;
    };

/**
 * Makes an attribute. Plain numbers and number arrays become INT/INTS; floats must be marked with
 * `{ float: x }` / `{ floats: [...] }` because ONNX types attributes strictly (alpha=1 as INT is an
 * error in ONNX Runtime).
 */
export function makeAttr(name: string, value: AttrValue): AttributeProto {
  if (typeof value === "number") return { name, type: AttributeType.INT, i: value };
  if (typeof value === "string") {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ("float" in value && typeof value.float === "number") {
    return { name, type: AttributeType.FLOAT, f: value.float };
  }
  if ("floats" in value && Array.isArray(value.floats)) {
    return { name, type: AttributeType.FLOATS, floats: value.floats };
  }
  return { name, type: AttributeType.TENSOR, t: value as TensorProto };
}
