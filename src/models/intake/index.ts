// Model intake: the passes that turn an ONNX classifier as some exporter wrote it into the one
// form the rest of camscope runs (canonicalisers in a list, in the spirit of Zennit's): weights
// inline and float32, opset 13 or later, one NCHW float32 image input, one [N, C] logits output,
// any batch size. Each pass says what it changed; the report is shown by `camscope layers`.
import { Tensor, type Engine, type ModelSession } from "../../engine/engine.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { foldStaticShapes } from "./fold-shapes.ts";
import { pruneDead } from "../../onnx/prune.ts";
import { resolveInput } from "../../onnx/shapes.ts";
import { createRng } from "../../util/random.ts";
import { fixedBatchOf, makeBatchSymbolic } from "./batch.ts";
import { inlineExternalData, type ExternalDataReader } from "./external-data.ts";
import { widenHalfPrecision } from "./float16.ts";
import { chooseOutput, normalizeHead, type HeadKind } from "./head.ts";
import { detectLayout, toChannelsFirst, type Layout } from "./layout.ts";
import { DEFAULT_TARGET_OPSET, upgradeOpset } from "./opset.ts";
import { sizeOf } from "../../tensor/tensor.ts";
import { inferShapes } from "../../engine/probe.ts";

export type { HeadKind } from "./head.ts";
export type { Layout } from "./layout.ts";

export interface IntakeOptions {
  engine: Engine;
  /** Reads external-data files beside the model (see external-data.ts); none: such models fail. */
  readExternal?: ExternalDataReader;
  /** The class-score output, when the model has several; `outputFrom` names who chose it. */
  output?: string;
  outputFrom?: string;
  /** The input layout, when the card states it; otherwise it is read from the graph. */
  layout?: Layout;
  /** [H, W] for symbolic spatial input dims (the preprocessing's size). */
  spatial?: readonly [number, number];
}

/**
 * How intake handled the batch dimension: `dynamic` as exported; `symbolic`: exported with a fixed
 * batch and rewritten to take any (verified on real runs); `chunked`: a fixed batch that could not
 * be rewritten, so the model runs in chunks of that size (`why` says what failed).
 */
export type BatchHandling =
  | {
      /** The kind of handling. */
      kind: "dynamic";
    }
  | {
      /** The kind of handling. */
      kind: "symbolic";
      /** The batch size the model was exported with. */
      exported: number;
    }
  | {
      /** The kind of handling. */
      kind: "chunked";
      /** The batch size the model was exported with. */
      exported: number;
      /** Why the rewrite to a symbolic batch was not kept. */
      why: string;
    };

/** What intake found in a model as exported and what it changed. */
export interface IntakeReport {
  /** The default-domain opset as exported and as run (old opsets are upgraded to 13). */
  opset: {
    /** As exported. */
    exported: number;
    /** As run. */
    running: number;
  };
  /** The precision of the exported weights and input ("float16" ones run in float32). */
  precision: "float32" | "float16";
  /** The image input's layout as exported (camscope always feeds NCHW). */
  layout: Layout;
  /** What the chosen output held: logits, or probabilities whose Softmax was stripped. */
  head: HeadKind;
  /** The chosen output as exported, and its dims (batch as probed). */
  exportedOutput: {
    /** The output's name. */
    name: string;
    /** Its dims at the probed batch size. */
    dims: number[];
  };
  /** The number of classes (1 for a binary classifier's single logit). */
  classes: number;
  /** How the batch dimension was handled. */
  batch: BatchHandling;
  /** Initializers read from external data files. */
  externalTensors: number;
  /** One line per change made, in order. */
  changes: string[];
}

export interface IntakeResult {
  model: OnnxModel;
  /** The (single) image input, NCHW. */
  input: string;
  /** The [N, C] logits output. */
  output: string;
  report: IntakeReport;
}

/** A tolerance for the same graph run at another batch size (kernels may block differently). */
const BATCH_TOLERANCE = 1e-4;

/** Runs every intake pass on a copy of `model`; the caller's model is left as it was. */
export async function intake(original: OnnxModel, options: IntakeOptions): Promise<IntakeResult> {
  let model = original.clone();
  const changes: string[] = [];
  const externalTensors = await inlineExternalData(model, options.readExternal);
  if (externalTensors > 0) changes.push(`read ${externalTensors} tensors from external data files`);

  const half = widenHalfPrecision(model);
  const precision = half.tensors > 0 || half.halfIo ? "float16" : "float32";
  if (precision === "float16") {
    changes.push(
      `widened float16 to float32 (${half.tensors} tensors${half.halfIo ? ", input/output" : ""}${half.casts ? `, ${half.casts} Casts` : ""}): weights exact, arithmetic float32`,
    );
  }

  const chosen = chooseOutput(model, options.output, options.outputFrom ?? "The model card");
  if (model.graph.output.length > 1) {
    model.graph.output = model.graph.output.filter((o) => o.name === chosen);
    pruneDead(model);
    changes.push(`kept output "${chosen}" only`);
  }

  const input = resolveInput(model, options.spatial);
  const layout = options.layout ?? detectLayout(model, input.name);
  const exportedOpset = model.opset();

  let shapes = await inferShapes(model, options.engine, input);
  if (exportedOpset < DEFAULT_TARGET_OPSET) {
    // ONNX Runtime runs the old opset, so the probe above gives the ranks the upgrade may need;
    // the upgraded graph is probed again for the passes after it (it has new values).
    const upgraded = upgradeOpset(model, { shapes });
    model = upgraded.model;
    const how = upgraded.changes.length > 0 ? `: ${upgraded.changes.join("; ")}` : "";
    changes.push(`upgraded opset ${upgraded.from} to ${upgraded.to}${how}`);
    shapes = await inferShapes(model, options.engine, input);
  }
  const head = normalizeHead(model, chosen, shapes);
  changes.push(...head.changes);

  if (layout === "NHWC") {
    toChannelsFirst(model, input.name);
    changes.push(`input "${input.name}" is NHWC: added a Transpose so camscope feeds NCHW`);
  }

  const batch = await symbolicBatch(model, input.name, options, changes);
  const folded = await foldStaticShapes(
    model,
    options.engine,
    resolveInput(model, options.spatial),
    {
      fixedBatch: batch.kind === "chunked",
    },
  );
  if (folded.folded.length > 0) {
    model = folded.model;
    changes.push(
      `folded ${folded.folded.length} shape computations to constants (${folded.removedNodes} nodes removed)`,
    );
  }
  return {
    model,
    input: input.name,
    output: head.output,
    report: {
      opset: { exported: exportedOpset, running: model.opset() },
      precision,
      layout,
      head: head.head,
      exportedOutput: { name: chosen, dims: head.exportedDims },
      classes: head.classes,
      batch,
      externalTensors,
      changes,
    },
  };
}

/**
 * Rewrites a fixed-batch model (in place) to take any batch, keeping the rewrite only if a batch
 * of three distinct inputs gives, row for row, what the model as exported gives for each.
 */
async function symbolicBatch(
  model: OnnxModel,
  input: string,
  options: IntakeOptions,
  changes: string[],
): Promise<BatchHandling> {
  const exported = fixedBatchOf(model, input);
  if (exported === undefined) return { kind: "dynamic" };
  const candidate = model.clone();
  const rewrites = makeBatchSymbolic(candidate, input, exported);
  const why = await batchMismatch(model, candidate, input, options);
  if (why === undefined) {
    Object.assign(model.graph, candidate.graph);
    changes.push(
      `batch was fixed at ${exported}: made symbolic (${rewrites.length} shape constants rewritten, checked on a batch of 3)`,
    );
    return { kind: "symbolic", exported };
  }
  changes.push(`batch is fixed at ${exported} (${why}): runs in chunks of ${exported}`);
  return { kind: "chunked", exported, why };
}

/** Why the rewritten model disagrees with the exported one, or undefined when it agrees. */
async function batchMismatch(
  exported: OnnxModel,
  candidate: OnnxModel,
  input: string,
  options: IntakeOptions,
): Promise<string | undefined> {
  const dims = resolveInput(candidate, options.spatial).dims;
  const rows = 3;
  const per = sizeOf(dims.slice(1));
  const random = createRng(1234);
  const data = Float32Array.from({ length: rows * per }, () => random.normal());
  const output = candidate.outputs()[0]!.name;
  const feed = { [input]: new Tensor("float32", data, [rows, ...dims.slice(1)]) };
  let reference: ModelSession | undefined;
  let rewritten: ModelSession | undefined;
  try {
    // The exported model takes `fixed` rows per run; ModelSession chunks and pads for it.
    reference = await options.engine.open(exported);
    const expected = (await reference.runBatched(feed, [output]))[output]!.data as Float32Array;
    let actual: Float32Array;
    try {
      rewritten = await options.engine.open(candidate);
      actual = (await rewritten.run(feed, [output]))[output]!.data as Float32Array;
    } catch (error) {
      // Name the node, not Runtime's internals: the usual cause is a shape constant that mixes the
      // batch with another axis (ViT's attention reshapes [tokens, batch * heads, d]).
      const node = /Name:'([^']*)'/.exec(String((error as Error).message))?.[1];
      return node === undefined
        ? "the rewritten graph does not run at another batch size"
        : `node "${node}" does not run at another batch size`;
    }
    if (actual.length !== expected.length) {
      return `the rewrite gives ${actual.length / rows} values per row instead of ${expected.length / rows}`;
    }
    let scale = 0;
    let error = 0;
    for (let i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]!));
      error = Math.max(error, Math.abs(actual[i]! - expected[i]!));
    }
    if (!(error <= BATCH_TOLERANCE * scale)) {
      return `the rewrite changes the outputs by up to ${error.toExponential(2)}`;
    }
    return undefined;
  } finally {
    await reference?.dispose();
    await rewritten?.dispose();
  }
}
