// Folding shape computations. Exporters write reshape targets, slice bounds, pads and split sizes
// as arithmetic on `Shape` outputs (torch's x.size(1) // 2, F.pad to a multiple of a window). With
// the input size fixed, every such value that does not follow the batch is a constant; replacing
// it by one lets the backward compiler read it like a value written into the file. The values are
// evaluated by ONNX Runtime at two batch sizes, and only those equal at both are folded, so a
// reshape to [N, -1] stays computed.
import { Tensor, type Engine, type OrtTensor } from "../engine/engine.ts";
import { elemTypes } from "./elem-types.ts";
import type { OnnxModel } from "./model.ts";
import { withOutputs } from "./outputs.ts";
import { DataType, type NodeProto } from "./proto.ts";
import type { ModelInput } from "./shapes.ts";
import { rawTensor, sizeOf } from "./tensor.ts";

export interface FoldedShapes {
  /** The model with the folded values as initializers (the input model when nothing folds). */
  model: OnnxModel;
  /** Values replaced by constants, in graph order. */
  folded: string[];
  /** Shape computations left in the graph because they follow the batch (e.g. [N, -1]). */
  batchDependent: string[];
  /** Nodes dropped because nothing reads their outputs any more. */
  removedNodes: number;
}

/** Ops whose outputs are shapes, whatever their input's values. */
const SHAPE_OPS = new Set(["Shape", "Size"]);

/** Element types a shape computation folds to (never float data). */
const FOLDABLE_TYPES = new Set<number>([DataType.INT64, DataType.INT32, DataType.BOOL]);

/** Ops that give different values at every run, or read values the node's inputs do not list. */
function opaque(node: NodeProto): boolean {
  return (
    node.op_type.startsWith("Random") ||
    node.op_type === "Multinomial" ||
    node.op_type === "Bernoulli" ||
    (node.domain !== undefined && node.domain !== "" && node.domain !== "ai.onnx") ||
    // If/Loop/Scan bodies may read any outer value.
    node.attribute.some(
      (a) => a.g !== undefined || ((a["graphs"] as unknown[] | undefined)?.length ?? 0) > 0,
    )
  );
}

function sameTensor(a: OrtTensor, b: OrtTensor): boolean {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return false;
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Replaces the integer and boolean values computed only from `Shape` (or `Size`) outputs and
 * constants by constant initializers where they are the same at batch 1 and batch 2, and drops the
 * shape computations left with no reader. `inputs` give the concrete input dims (batch 1). A model
 * that cannot run at batch 2 is returned unchanged: it cannot tell which values follow the batch.
 */
export async function foldStaticShapes(
  model: OnnxModel,
  engine: Engine,
  inputs: ModelInput | readonly ModelInput[],
): Promise<FoldedShapes> {
  const list = Array.isArray(inputs) ? inputs : [inputs as ModelInput];
  const g = model.graph;
  const types = elemTypes(model);
  const constants = new Set(g.initializer.map((t) => t.name ?? ""));
  for (const node of g.node) {
    if (node.op_type === "Constant") for (const o of node.output) constants.add(o);
  }
  // Values computed from shapes and constants only, with at least one shape among their sources.
  const derived = new Set<string>();
  for (const node of g.node) {
    const inputsUsed = node.input.filter((i) => i);
    const fromShapes =
      SHAPE_OPS.has(node.op_type) ||
      (!opaque(node) &&
        inputsUsed.length > 0 &&
        inputsUsed.every((i) => derived.has(i) || constants.has(i)) &&
        inputsUsed.some((i) => derived.has(i)));
    if (fromShapes) for (const o of node.output) if (o) derived.add(o);
  }
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const candidates = [...derived].filter(
    (v) => FOLDABLE_TYPES.has(types.get(v) ?? -1) && !graphOutputs.has(v),
  );
  const unchanged: FoldedShapes = { model, folded: [], batchDependent: [], removedNodes: 0 };
  if (candidates.length === 0) return unchanged;

  const session = await engine.open(withOutputs(model, candidates));
  const run = (batch: number) =>
    session.run(
      Object.fromEntries(
        list.map((i) => {
          const dims = [batch, ...i.dims.slice(1)];
          return [i.name, new Tensor("float32", new Float32Array(sizeOf(dims)), dims)];
        }),
      ),
      candidates,
    );
  let one: Record<string, OrtTensor>;
  let two: Record<string, OrtTensor> | undefined;
  try {
    one = await run(1);
    two = await run(2).catch(() => undefined);
  } finally {
    await session.dispose();
  }
  if (!two) return unchanged;

  const values = new Map<string, OrtTensor>();
  const batchDependent: string[] = [];
  for (const v of candidates) {
    if (sameTensor(one[v]!, two[v]!)) values.set(v, one[v]!);
    else batchDependent.push(v);
  }
  // A node goes when all its outputs fold; the folded values that a remaining node reads become
  // initializers under their own names, so no reader changes.
  const folds = (node: NodeProto) =>
    node.output.length > 0 && node.output.every((o) => !o || values.has(o));
  const copy = model.clone();
  const kept = copy.graph.node.filter((n) => !folds(n));
  const read = new Set(kept.flatMap((n) => n.input));
  const folded = candidates.filter((v) => values.has(v) && read.has(v));
  // Then the shape computations (and Constant nodes) nothing reads any more, last to first.
  const removable = (n: NodeProto) => derived.has(n.output[0] ?? "") || n.op_type === "Constant";
  const readers = new Map<string, number>();
  for (const n of kept) for (const i of n.input) readers.set(i, (readers.get(i) ?? 0) + 1);
  const alive = new Array<boolean>(kept.length).fill(true);
  for (let k = kept.length - 1; k >= 0; k--) {
    const n = kept[k]!;
    if (!removable(n) || n.output.some((o) => o && (readers.get(o) || graphOutputs.has(o)))) {
      continue;
    }
    alive[k] = false;
    for (const i of n.input) readers.set(i, readers.get(i)! - 1);
  }
  copy.graph.node = kept.filter((_, k) => alive[k]);
  const stillRead = new Set(copy.graph.node.flatMap((n) => n.input));
  // Initializers only the dropped nodes read go with them (those listed as graph inputs stay).
  const wasRead = new Set(g.node.flatMap((n) => n.input));
  for (const v of g.input) wasRead.delete(v.name);
  copy.graph.initializer = [
    ...copy.graph.initializer.filter(
      (t) => stillRead.has(t.name ?? "") || !wasRead.has(t.name ?? ""),
    ),
    ...folded.map((v) => {
      const t = values.get(v)!;
      return rawTensor(v, types.get(v)!, t.dims, t.data as ArrayBufferView);
    }),
  ];
  return {
    model: copy,
    folded,
    batchDependent: batchDependent.filter((v) => stillRead.has(v)),
    removedNodes: g.node.length - copy.graph.node.length,
  };
}
