// The metrics `camscope evaluate` can compute, by name. Each adapter takes one batch (the model
// inputs of a batch of images, one method's maps of them, the explained classes) and returns
// per-image columns, plus per-image curves where the metric has them. The metric modules in
// src/metrics/ do the work and batch their perturbed inputs through the score function.
import type { FloatTensor } from "../compiler/backward-session.ts";
import { CamscopeError } from "../errors.ts";
import { deletionInsertion, type ScoreFunction } from "../metrics/deletion-insertion.ts";
import type { ModelContext } from "../models/context.ts";

/** Boxes and mask of an image's labelled object in the model-input frame. */
export interface InputRegions {
  boxes: { x0: number; y0: number; x1: number; y1: number }[];
  mask?: Uint8Array;
}

/** One batch as a metric sees it; row i is image i of the batch. */
export interface MetricBatch {
  ctx: ModelContext;
  /** Model inputs [N, C, H, W]. */
  images: FloatTensor;
  /** The method's final maps [N, H, W] at model-input resolution, in [0, 1]. */
  maps: FloatTensor;
  /** The explained class of each row. */
  classes: readonly number[];
  /** Softmax probability of each row's class, batched through the model. */
  score: ScoreFunction;
  /** Regions of each row (metrics that need them only see rows that have them). */
  regions: readonly InputRegions[];
  /** A seed for the metric's random draws, fixed per batch. */
  seed: number;
  /** Inputs per model run. */
  batchSize: number;
}

export interface MetricColumn {
  name: string;
  title: string;
  /** Which direction is better, for the report's captions. */
  better: "higher" | "lower";
}

export interface MetricCurve {
  name: string;
  title: string;
  /** The x value of each curve point. */
  x: number[];
}

export interface MetricOutput {
  /** Per-image values of each column, by column name. */
  values: Record<string, Float32Array>;
  /** Per-image curves by curve name, [N, points]. */
  curves?: Record<string, Float32Array>;
}

export interface EvalMetric {
  name: string;
  title: string;
  /** "regions": the metric needs boxes or a mask; images without them are skipped with a note. */
  needs: "none" | "regions";
  columns: MetricColumn[];
  curves: MetricCurve[];
  compute(batch: MetricBatch): Promise<MetricOutput>;
}

/** Steps of the Deletion and Insertion curves (RISE protocol). */
export const DELETION_STEPS = 32;

const evenSteps = (steps: number) => Array.from({ length: steps + 1 }, (_, t) => t / steps);

const deletionInsertionMetric: EvalMetric = {
  name: "deletion-insertion",
  title: "Deletion / Insertion",
  needs: "none",
  columns: [
    { name: "deletion_auc", title: "Deletion AUC", better: "lower" },
    { name: "insertion_auc", title: "Insertion AUC", better: "higher" },
  ],
  curves: [
    { name: "deletion", title: "Deletion", x: evenSteps(DELETION_STEPS) },
    { name: "insertion", title: "Insertion", x: evenSteps(DELETION_STEPS) },
  ],
  async compute(batch) {
    const r = await deletionInsertion(batch.images, batch.maps.data, batch.score, {
      steps: DELETION_STEPS,
      chunk: 2 * batch.batchSize,
    });
    return {
      values: { deletion_auc: r.deletion, insertion_auc: r.insertion },
      curves: { deletion: r.deletionCurves, insertion: r.insertionCurves },
    };
  },
};

/** Every metric, in the order tables list them. */
export const EVAL_METRICS: readonly EvalMetric[] = [deletionInsertionMetric];

/** Metrics by name ("all" for every one); an unknown name lists the valid ones. */
export function resolveMetrics(names: readonly string[]): EvalMetric[] {
  if (names.length === 1 && names[0] === "all") return [...EVAL_METRICS];
  return names.map((name) => {
    const m = EVAL_METRICS.find((x) => x.name === name.toLowerCase());
    if (!m) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Unknown metric "${name}". Valid: ${EVAL_METRICS.map((x) => x.name).join(", ")}, all`,
      );
    }
    return m;
  });
}
