// The ONNX model: parse and serialize with protobufjs, and a small mutable graph IR over the
// decoded messages that the backward compiler rewrites.
import { CamscopeError } from "../errors.ts";
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from "./proto.ts";
import { ModelProtoType } from "./schema.ts";

const TO_OBJECT = { longs: Number, enums: Number, arrays: true, defaults: false } as const;

/** Who produces and who reads each value of a graph, from {@link OnnxModel.index}. */
export interface GraphIndex {
  /** The node that produces each value, with its position in the node list. */
  producer: Map<
    string,
    {
      /** The producing node. */
      node: NodeProto;
      /** Its position in the graph's node list. */
      index: number;
    }
  >;
  /** The nodes that read each value. */
  consumers: Map<string, NodeProto[]>;
  /** The initializers by name. */
  initializers: Map<string, TensorProto>;
}

/**
 * An ONNX model decoded into plain objects: load it from a file or bytes, inspect or rewrite its
 * graph (the backward compiler works on a {@link OnnxModel.clone}), and serialise it for ONNX
 * Runtime.
 */
export class OnnxModel {
  /** The decoded model. */
  readonly proto: ModelProto;
  /** Where the model came from (a file path, a bundled model's name, or "<buffer>"), for errors. */
  readonly source: string;

  constructor(proto: ModelProto, source: string) {
    this.proto = proto;
    this.source = source;
  }

  /**
   * Decodes an ONNX protobuf. Throws a {@link CamscopeError} (`MODEL_LOAD`) for bytes that are not
   * an ONNX model with a graph and an opset.
   */
  static fromBytes(bytes: Uint8Array, source = "<buffer>"): OnnxModel {
    let proto: ModelProto;
    try {
      const message = ModelProtoType.decode(bytes);
      proto = ModelProtoType.toObject(message, TO_OBJECT) as ModelProto;
    } catch (error) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Cannot load ONNX model "${source}": not a valid ONNX protobuf (${(error as Error).message})`,
        { cause: error },
      );
    }
    // Protobuf decoding is lenient: many non-ONNX byte strings decode to a message with no graph.
    if (!proto.graph || !proto.graph.node || proto.graph.node.length === 0) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Cannot load ONNX model "${source}": the file holds no graph (is it an ONNX model?)`,
      );
    }
    if (!proto.opset_import || proto.opset_import.length === 0) {
      throw new CamscopeError("MODEL_LOAD", `Cannot load ONNX model "${source}": no opset_import`);
    }
    const g = proto.graph;
    g.initializer ??= [];
    g.input ??= [];
    g.output ??= [];
    g.value_info ??= [];
    for (const node of g.node) {
      node.input ??= [];
      node.output ??= [];
      node.attribute ??= [];
    }
    return new OnnxModel(proto, source);
  }

  /** Encodes the model as ONNX protobuf bytes. */
  toBytes(): Uint8Array {
    return ModelProtoType.encode(ModelProtoType.fromObject(this.proto)).finish();
  }

  /**
   * A copy whose graph can be rewritten without touching this one. Node, value-info and list
   * structures are copied (value infos deeply); initializer data is shared, since rewriting never
   * mutates tensors.
   */
  clone(source = this.source): OnnxModel {
    const g = this.graph;
    const graph: GraphProto = {
      ...g,
      node: g.node.map((n) => ({
        ...n,
        input: [...n.input],
        output: [...n.output],
        attribute: [...n.attribute],
      })),
      initializer: [...g.initializer],
      // Value infos are small, and rewrites edit their shapes in place.
      input: structuredClone(g.input),
      output: structuredClone(g.output),
      value_info: structuredClone(g.value_info),
    };
    return new OnnxModel(
      { ...this.proto, opset_import: this.proto.opset_import.map((o) => ({ ...o })), graph },
      source,
    );
  }

  /** The model's graph. */
  get graph(): GraphProto {
    return this.proto.graph;
  }

  /** The opset version imported for a domain ("" is the default ONNX domain), 0 if none. */
  opset(domain = ""): number {
    const entry = this.proto.opset_import.find(
      (o) => (o.domain ?? "") === domain || (domain === "" && o.domain === "ai.onnx"),
    );
    return entry?.version ?? 0;
  }

  /** The graph inputs a caller must feed (initializers listed as inputs by old exporters excluded). */
  inputs(): ValueInfoProto[] {
    const init = new Set(this.graph.initializer.map((t) => t.name));
    return this.graph.input.filter((v) => !init.has(v.name));
  }

  /** The graph outputs. */
  outputs(): ValueInfoProto[] {
    return this.graph.output;
  }

  /** Producers, consumers and initializers of the graph as it is now (not kept up to date). */
  index(): GraphIndex {
    const producer = new Map<string, { node: NodeProto; index: number }>();
    const consumers = new Map<string, NodeProto[]>();
    this.graph.node.forEach((node, index) => {
      for (const out of node.output) if (out) producer.set(out, { node, index });
      for (const inp of node.input) {
        if (!inp) continue;
        const list = consumers.get(inp);
        if (list) list.push(node);
        else consumers.set(inp, [node]);
      }
    });
    const initializers = new Map(this.graph.initializer.map((t) => [t.name ?? "", t]));
    return { producer, consumers, initializers };
  }
}

/** The static dims of a value info, with symbolic or unknown dims as undefined. */
export function valueInfoDims(v: ValueInfoProto): (number | undefined)[] | undefined {
  const dims = v.type?.tensor_type?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dim_value !== undefined && d.dim_value > 0 ? d.dim_value : undefined));
}
