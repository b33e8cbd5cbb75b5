// Folding shape computations. Exporters write reshape targets, slice bounds, pads and split sizes
// as arithmetic on `Shape` outputs (torch's x.size(1) // 2, F.pad to a multiple of a window). With
// the input size fixed, every such value that does not follow the batch is a constant; replacing
// it by one lets the backward compiler read it like a value written into the file. The values are
// evaluated by ONNX Runtime at two batch sizes, and only those equal at both are folded, so a
// reshape to [N, -1] stays computed.
import type { Engine, OrtTensor } from "../../engine/engine.ts";
import { elemTypes } from "../../onnx/elem-types.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { withOutputs } from "../../onnx/outputs.ts";
import { DataType, type GraphProto, type NodeProto } from "../../onnx/proto.ts";
import { type ModelInput } from "../../onnx/shapes.ts";
import { rawTensor } from "../../onnx/tensor.ts";
import { zeroFeeds } from "../../engine/probe.ts";

/** What {@link foldStaticShapes} folded. */
export interface FoldedShapes {
  /** The model with the folded values as initializers (the input model when nothing folds). */
  model: OnnxModel;
  /** Values replaced by constants, in graph order. */
  folded: string[];
  /** Shape values the model reads that stay computed because they follow the batch ([N, -1]). */
  batchDependent: string[];
  /** Nodes dropped because nothing reads their outputs any more. */
  removedNodes: number;
}

/** Ops whose outputs are shapes, whatever their input's values. */
const SHAPE_OPS = new Set(["Shape", "Size"]);

/** Element types a shape computation folds to (never float data). */
const FOLDABLE_TYPES = new Set<number>([DataType.INT64, DataType.INT32, DataType.BOOL]);

/** The subgraphs (If/Loop/Scan bodies) of a node's attributes. */
function subgraphs(node: NodeProto): GraphProto[] {
  return node.attribute.flatMap((a) => [
    ...(a.g ? [a.g] : []),
    ...((a["graphs"] as GraphProto[] | undefined) ?? []),
  ]);
}

/** Every value the nodes of these graphs' subgraphs read, at any depth: outer values among them. */
function readInSubgraphs(nodes: readonly NodeProto[]): Set<string> {
  const names = new Set<string>();
  const visit = (graph: GraphProto): void => {
    for (const n of graph.node ?? []) {
      for (const i of n.input) names.add(i);
      subgraphs(n).forEach(visit);
    }
  };
  for (const n of nodes) subgraphs(n).forEach(visit);
  return names;
}

/** Ops that give different values at every run, or read values the node's inputs do not list. */
function opaque(node: NodeProto): boolean {
  return (
    node.op_type.startsWith("Random") ||
    node.op_type === "Multinomial" ||
    node.op_type === "Bernoulli" ||
    (node.domain !== undefined && node.domain !== "" && node.domain !== "ai.onnx") ||
    // If/Loop/Scan bodies may read any outer value.
    subgraphs(node).length > 0
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
 * that cannot run at batch 2 is returned unchanged: it cannot tell which values follow the batch,
 * unless `fixedBatch` says the model only ever runs at its one batch size.
 */
export async function foldStaticShapes(
  model: OnnxModel,
  engine: Engine,
  inputs: ModelInput | readonly ModelInput[],
  options: { fixedBatch?: boolean } = {},
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
  const run = (batch: number) => session.run(zeroFeeds(list, batch), candidates, batch > 1);
  let one: Record<string, OrtTensor>;
  let two: Record<string, OrtTensor> | undefined;
  try {
    one = await run(1);
    // A model whose batch is fixed (run in chunks of it) has no other batch: every shape folds.
    two = options.fixedBatch ? one : await run(2).catch(() => undefined);
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
  // Subgraphs read outer values by name without listing them as inputs.
  const implicit = readInSubgraphs(g.node);
  const read = new Set([...kept.flatMap((n) => n.input), ...implicit]);
  const folded = candidates.filter((v) => values.has(v) && read.has(v));
  // Then the shape computations (and Constant nodes) nothing reads any more, last to first.
  const removable = (n: NodeProto) => derived.has(n.output[0] ?? "") || n.op_type === "Constant";
  const readers = new Map<string, number>();
  for (const n of kept) for (const i of n.input) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (const v of implicit) readers.set(v, (readers.get(v) ?? 0) + 1);
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
  const stillRead = new Set([...copy.graph.node.flatMap((n) => n.input), ...implicit]);
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
  // The batch-dependent values the model's computation reads (not those inside a shape computation).
  const readOutside = new Set(
    copy.graph.node.filter((n) => !derived.has(n.output[0] ?? "")).flatMap((n) => n.input),
  );
  return {
    model: copy,
    folded,
    batchDependent: batchDependent.filter((v) => readOutside.has(v)),
    removedNodes: g.node.length - copy.graph.node.length,
  };
}
