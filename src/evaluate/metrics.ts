// The metrics `camscope evaluate` can compute, by name. Each adapter takes one batch (the model
// inputs of a batch of images, one method's maps of them, the explained classes) and returns
// per-image columns, plus per-image curves where the metric has them. The metric modules in
// src/metrics/ do the work and batch their perturbed inputs through the score function.
import { CamscopeError } from "../errors.ts";
import { averageDrop } from "../metrics/average-drop.ts";
import { complexity, sparseness } from "../metrics/complexity.ts";
import { deletionInsertion, type ScoreFunction } from "../metrics/deletion-insertion.ts";
import { boxIou, maskIou } from "../metrics/iou.ts";
import { energyPointing, pointingGame } from "../metrics/pointing.ts";
import { road } from "../metrics/road.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import { sanityScores, type CascadeMaps } from "./sanity.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import type { InputRegions } from "../image/regions.ts";
import { checkNames } from "../util/validate.ts";

export type { InputRegions };

/** One batch as a metric sees it; row i is image i of the batch. */
export interface MetricBatch {
  ctx: ModelRuntime;
  /** Model inputs [N, C, H, W]. */
  images: FloatTensor;
  /** The method's final maps [N, H, W] at model-input resolution, in [0, 1]. */
  maps: FloatTensor;
  /** The method's raw maps per layer, [N, h, w] at layer resolution, before ReLU and normalisation. */
  raw: readonly FloatTensor[];
  /** The method's maps of the same rows and classes on the sanity cascade's models, in step order
   * (given to metrics that need "cascade" only). */
  cascade?: readonly CascadeMaps[];
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
  /** The x value of each curve point; empty where the run decides them (see RunCurveX). */
  x: number[];
  /** Axis titles for charts (default: fraction of pixels, class probability). */
  xTitle?: string;
  yTitle?: string;
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
  /**
   * "regions": the metric needs boxes or a mask; images without them are skipped with a note.
   * "cascade": the metric needs the method's maps on the sanity cascade's models (batch.cascade).
   */
  needs: "none" | "regions" | "cascade";
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

/** [N, H, W] of a batch's maps. */
function mapSize(batch: MetricBatch): [number, number] {
  return [batch.maps.dims[1]!, batch.maps.dims[2]!];
}

const averageDropMetric: EvalMetric = {
  name: "average-drop",
  title: "Average Drop / Increase in Confidence",
  needs: "none",
  columns: [
    { name: "average_drop", title: "Average Drop (%)", better: "lower" },
    { name: "increase_in_confidence", title: "Increase in Confidence (%)", better: "higher" },
    { name: "explained_probability", title: "Probability on image x map", better: "higher" },
  ],
  curves: [],
  async compute(batch) {
    // The map multiplies the preprocessed input tensor; scores are softmax probabilities.
    const r = await averageDrop(batch.images, batch.maps.data, batch.score, {
      chunk: 2 * batch.batchSize,
    });
    return {
      values: {
        average_drop: r.drop,
        // 0 or 100 per image, so the mean is the percentage of images.
        increase_in_confidence: Float32Array.from(r.increase, (v) => 100 * v),
        explained_probability: r.explained,
      },
    };
  },
};

/** Pointing Game tolerance in model-input pixels. */
export const POINTING_TOLERANCE = 15;
/** Share of the map's maximum kept before the largest connected component is boxed. */
export const LOCALIZATION_THRESHOLD = 0.15;

const pointingMetric: EvalMetric = {
  name: "pointing",
  title: "Pointing Game",
  needs: "regions",
  columns: [
    { name: "pointing", title: `Pointing Game hit (${POINTING_TOLERANCE} px)`, better: "higher" },
    { name: "energy_pointing", title: "Energy inside the object", better: "higher" },
  ],
  curves: [],
  compute(batch) {
    const [h, w] = mapSize(batch);
    const hits = pointingGame(batch.maps.data, h, w, batch.regions, POINTING_TOLERANCE);
    return Promise.resolve({
      values: {
        // -1 (nothing annotated inside the input) becomes NaN: no value, with a note.
        pointing: Float32Array.from(hits, (v) => (v < 0 ? NaN : v)),
        energy_pointing: energyPointing(batch.maps.data, h, w, batch.regions),
      },
    });
  },
};

const iouMetric: EvalMetric = {
  name: "iou",
  title: "Localization IoU",
  needs: "regions",
  columns: [
    { name: "box_iou", title: "Box IoU (largest component)", better: "higher" },
    { name: "localization", title: "Box IoU >= 0.5", better: "higher" },
    { name: "mask_iou", title: "Mask IoU", better: "higher" },
  ],
  curves: [],
  compute(batch) {
    const [h, w] = mapSize(batch);
    const box = boxIou(batch.maps.data, h, w, batch.regions, LOCALIZATION_THRESHOLD);
    return Promise.resolve({
      values: {
        box_iou: box,
        localization: box.map((v) => (Number.isNaN(v) ? NaN : v >= 0.5 ? 1 : 0)),
        mask_iou: maskIou(batch.maps.data, h, w, batch.regions, LOCALIZATION_THRESHOLD),
      },
    });
  },
};

const complexityMetric: EvalMetric = {
  name: "complexity",
  title: "Sparseness / Complexity",
  needs: "none",
  columns: [
    { name: "sparseness", title: "Sparseness (Gini)", better: "higher" },
    { name: "complexity", title: "Complexity (entropy)", better: "lower" },
  ],
  curves: [],
  compute(batch) {
    const [h, w] = mapSize(batch);
    return Promise.resolve({
      values: {
        sparseness: sparseness(batch.maps.data, h, w),
        complexity: complexity(batch.maps.data, h, w),
      },
    });
  },
};

/** Percent of pixels ROAD removes at each curve point. */
export const ROAD_PERCENTAGES = [10, 20, 30, 40, 50, 60, 70, 80, 90];

const roadMetric: EvalMetric = {
  name: "road",
  title: "ROAD",
  needs: "none",
  columns: [
    { name: "road_morf_auc", title: "ROAD MoRF AUC", better: "lower" },
    { name: "road_lerf_auc", title: "ROAD LeRF AUC", better: "higher" },
  ],
  curves: [
    {
      name: "road_morf",
      title: "ROAD most relevant first",
      x: ROAD_PERCENTAGES.map((p) => p / 100),
    },
    {
      name: "road_lerf",
      title: "ROAD least relevant first",
      x: ROAD_PERCENTAGES.map((p) => p / 100),
    },
  ],
  async compute(batch) {
    const r = await road(batch.images, batch.maps.data, batch.score, {
      percentages: ROAD_PERCENTAGES,
      seed: batch.seed,
      chunk: 2 * batch.batchSize,
    });
    return {
      values: { road_morf_auc: r.morfAuc, road_lerf_auc: r.lerfAuc },
      curves: { road_morf: r.morf, road_lerf: r.lerf },
    };
  },
};

const similarityToOriginal = "similarity to the original map";

const sanityMetric: EvalMetric = {
  name: "sanity",
  title: "Sanity check (cascading randomization)",
  needs: "cascade",
  // A map that explains the model changes when the model is destroyed: lower similarity is better.
  columns: [
    { name: "sanity_spearman_last", title: "Spearman at the last step", better: "lower" },
    {
      name: "sanity_abs_spearman_last",
      title: "Spearman of |map| at the last step",
      better: "lower",
    },
    { name: "sanity_ssim_last", title: "SSIM at the last step", better: "lower" },
    { name: "sanity_spearman_mean", title: "Spearman, mean over steps", better: "lower" },
    {
      name: "sanity_abs_spearman_mean",
      title: "Spearman of |map|, mean over steps",
      better: "lower",
    },
    { name: "sanity_ssim_mean", title: "SSIM, mean over steps", better: "lower" },
  ],
  curves: [
    { name: "sanity_spearman", title: "Sanity: Spearman", x: [] },
    { name: "sanity_abs_spearman", title: "Sanity: Spearman of |map|", x: [] },
    { name: "sanity_ssim", title: "Sanity: SSIM", x: [] },
  ].map((c) => ({
    ...c,
    xTitle: "layers randomised (from the top)",
    yTitle: similarityToOriginal,
  })),
  compute(batch) {
    const steps = batch.cascade ?? [];
    if (steps.length === 0) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        "The sanity metric needs at least one cascade step",
      );
    }
    const scores = sanityScores({ raw: batch.raw, map: batch.maps }, steps);
    const n = steps.length;
    const rows = batch.classes.length;
    // Mean over a row's steps (NaN if a step has no value), and its last step.
    const summary = (curves: Float32Array, pick: "mean" | "last") =>
      Float32Array.from({ length: rows }, (_, r) => {
        const row = curves.subarray(r * n, (r + 1) * n);
        return pick === "last" ? row[n - 1]! : row.reduce((a, b) => a + b, 0) / n;
      });
    return Promise.resolve({
      values: {
        sanity_spearman_last: summary(scores.spearman, "last"),
        sanity_abs_spearman_last: summary(scores.absSpearman, "last"),
        sanity_ssim_last: summary(scores.ssim, "last"),
        sanity_spearman_mean: summary(scores.spearman, "mean"),
        sanity_abs_spearman_mean: summary(scores.absSpearman, "mean"),
        sanity_ssim_mean: summary(scores.ssim, "mean"),
      },
      curves: {
        sanity_spearman: scores.spearman,
        sanity_abs_spearman: scores.absSpearman,
        sanity_ssim: scores.ssim,
      },
    });
  },
};

/** Every metric, in the order tables list them. */
export const EVAL_METRICS: readonly EvalMetric[] = [
  deletionInsertionMetric,
  roadMetric,
  averageDropMetric,
  pointingMetric,
  iouMetric,
  complexityMetric,
  sanityMetric,
];

/** Metrics by name ("all" for every one); an unknown name lists the valid ones. */
export function resolveMetrics(names: readonly string[]): EvalMetric[] {
  checkNames(names, "metric names");
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
