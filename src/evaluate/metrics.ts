// The metrics `camscope evaluate` can compute, by name. Each adapter takes one batch (the model
// inputs of a batch of images, one method's maps of them, the explained classes) and returns
// per-image columns, plus per-image curves where the metric has them. The metric modules in
// src/metrics/ do the work and batch their perturbed inputs through the score function.
//
// Signed maps (in [-1, 1]: Integrated Gradients, LRP, occlusion, gradient, ...) are read by each
// column as it declares (MetricColumn.signed; see SignedReading), following Quantus' default `abs`
// of the same metric where it has one:
// - Deletion / Insertion (Quantus PixelFlipping, abs=False) and ROAD (abs=False): as they are;
//   pixels are removed or inserted in decreasing signed value, so negative evidence goes last.
// - Average Drop / Increase: the positive part, since the map multiplies the input as a mask in
//   [0, 1] (a negative value would flip the input's sign).
// - Pointing Game (abs=False): the peak of the signed map. Energy inside the object (Score-CAM's
//   energy-based pointing game): the share of the positive part inside the object, the evidence
//   for the class (Quantus' AttributionLocalisation takes |map| instead; its RelevanceMassAccuracy
//   the signed map).
// - Box and mask IoU: the positive part, thresholded at a share of its maximum.
// - Sparseness and Complexity (abs=True): |map|.
// - Sanity (Quantus MPRT, abs=True): Spearman of the signed raw maps and of their absolute values
//   (both columns, as for every method), SSIM of |final map|.
// Unsigned maps read the same every way, so CAM results do not depend on these choices.
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
import { readSigned, type SignedReading } from "../metrics/maps.ts";
import { checkNames } from "../util/validate.ts";

export type { InputRegions };

/** One batch as a metric sees it; row i is image i of the batch. */
export interface MetricBatch {
  ctx: ModelRuntime;
  /** Model inputs [N, C, H, W]. */
  images: FloatTensor;
  /** The method's final maps [N, H, W] at model-input resolution: in [0, 1], or [-1, 1] if signed. */
  maps: FloatTensor;
  /** Whether the maps take both signs (default false); each column reads them as its `signed` says. */
  signed?: boolean;
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
  /** Average Drop / Increase through a hard mask of this top share of pixels (default: the map). */
  averageDropKeep?: number;
}

export interface MetricColumn {
  name: string;
  title: string;
  /** Which direction is better, for the report's captions. */
  better: "higher" | "lower";
  /** How the column reads a signed map (absent for columns that read no map, e.g. cost). */
  signed?: SignedReading;
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

/** The batch's maps as `column` reads them ([N * H * W]). */
function mapsFor(batch: MetricBatch, column: MetricColumn): Float32Array {
  return batch.signed === true ? readSigned(batch.maps.data, column.signed!) : batch.maps.data;
}

/** A metric's column by name (its declaration says how it reads signed maps). */
function column(metric: Pick<EvalMetric, "columns">, name: string): MetricColumn {
  return metric.columns.find((c) => c.name === name)!;
}

const deletionInsertionMetric: EvalMetric = {
  name: "deletion-insertion",
  title: "Deletion / Insertion",
  needs: "none",
  columns: [
    { name: "deletion_auc", title: "Deletion AUC", better: "lower", signed: "signed" },
    { name: "insertion_auc", title: "Insertion AUC", better: "higher", signed: "signed" },
  ],
  curves: [
    { name: "deletion", title: "Deletion", x: evenSteps(DELETION_STEPS) },
    { name: "insertion", title: "Insertion", x: evenSteps(DELETION_STEPS) },
  ],
  async compute(batch) {
    const maps = mapsFor(batch, column(deletionInsertionMetric, "deletion_auc"));
    const r = await deletionInsertion(batch.images, maps, batch.score, {
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
    { name: "average_drop", title: "Average Drop (%)", better: "lower", signed: "positive" },
    {
      name: "increase_in_confidence",
      title: "Increase in Confidence (%)",
      better: "higher",
      signed: "positive",
    },
    {
      name: "explained_probability",
      title: "Probability on image x map",
      better: "higher",
      signed: "positive",
    },
  ],
  curves: [],
  async compute(batch) {
    // The map multiplies the preprocessed input tensor; scores are softmax probabilities.
    const maps = mapsFor(batch, column(averageDropMetric, "average_drop"));
    const r = await averageDrop(batch.images, maps, batch.score, {
      chunk: 2 * batch.batchSize,
      ...(batch.averageDropKeep !== undefined ? { keep: batch.averageDropKeep } : {}),
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
    {
      name: "pointing",
      title: `Pointing Game hit (${POINTING_TOLERANCE} px)`,
      better: "higher",
      signed: "signed",
    },
    {
      name: "energy_pointing",
      title: "Energy inside the object",
      better: "higher",
      signed: "positive",
    },
  ],
  curves: [],
  compute(batch) {
    const [h, w] = mapSize(batch);
    const peaks = mapsFor(batch, column(pointingMetric, "pointing"));
    const energy = mapsFor(batch, column(pointingMetric, "energy_pointing"));
    const hits = pointingGame(peaks, h, w, batch.regions, POINTING_TOLERANCE);
    return Promise.resolve({
      values: {
        // -1 (nothing annotated inside the input) becomes NaN: no value, with a note.
        pointing: Float32Array.from(hits, (v) => (v < 0 ? NaN : v)),
        energy_pointing: energyPointing(energy, h, w, batch.regions),
      },
    });
  },
};

const iouMetric: EvalMetric = {
  name: "iou",
  title: "Localization IoU",
  needs: "regions",
  columns: [
    {
      name: "box_iou",
      title: "Box IoU (largest component)",
      better: "higher",
      signed: "positive",
    },
    { name: "localization", title: "Box IoU >= 0.5", better: "higher", signed: "positive" },
    { name: "mask_iou", title: "Mask IoU", better: "higher", signed: "positive" },
  ],
  curves: [],
  compute(batch) {
    const [h, w] = mapSize(batch);
    const maps = mapsFor(batch, column(iouMetric, "box_iou"));
    const box = boxIou(maps, h, w, batch.regions, LOCALIZATION_THRESHOLD);
    return Promise.resolve({
      values: {
        box_iou: box,
        localization: box.map((v) => (Number.isNaN(v) ? NaN : v >= 0.5 ? 1 : 0)),
        mask_iou: maskIou(maps, h, w, batch.regions, LOCALIZATION_THRESHOLD),
      },
    });
  },
};

const complexityMetric: EvalMetric = {
  name: "complexity",
  title: "Sparseness / Complexity",
  needs: "none",
  columns: [
    { name: "sparseness", title: "Sparseness (Gini)", better: "higher", signed: "absolute" },
    { name: "complexity", title: "Complexity (entropy)", better: "lower", signed: "absolute" },
  ],
  curves: [],
  compute(batch) {
    const [h, w] = mapSize(batch);
    return Promise.resolve({
      values: {
        sparseness: sparseness(mapsFor(batch, column(complexityMetric, "sparseness")), h, w),
        complexity: complexity(mapsFor(batch, column(complexityMetric, "complexity")), h, w),
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
    { name: "road_morf_auc", title: "ROAD MoRF AUC", better: "lower", signed: "signed" },
    { name: "road_lerf_auc", title: "ROAD LeRF AUC", better: "higher", signed: "signed" },
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
    const maps = mapsFor(batch, column(roadMetric, "road_morf_auc"));
    const r = await road(batch.images, maps, batch.score, {
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
    {
      name: "sanity_spearman_last",
      title: "Spearman at the last step",
      better: "lower",
      signed: "signed",
    },
    {
      name: "sanity_abs_spearman_last",
      title: "Spearman of |map| at the last step",
      better: "lower",
      signed: "absolute",
    },
    {
      name: "sanity_ssim_last",
      title: "SSIM at the last step",
      better: "lower",
      signed: "absolute",
    },
    {
      name: "sanity_spearman_mean",
      title: "Spearman, mean over steps",
      better: "lower",
      signed: "signed",
    },
    {
      name: "sanity_abs_spearman_mean",
      title: "Spearman of |map|, mean over steps",
      better: "lower",
      signed: "absolute",
    },
    {
      name: "sanity_ssim_mean",
      title: "SSIM, mean over steps",
      better: "lower",
      signed: "absolute",
    },
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
    // SSIM compares the final maps as its columns read them; Spearman reads the raw maps both ways.
    const reading = column(sanityMetric, "sanity_ssim_last").signed!;
    const final = (map: FloatTensor): FloatTensor =>
      batch.signed === true ? { data: readSigned(map.data, reading), dims: map.dims } : map;
    const scores = sanityScores(
      { raw: batch.raw, map: final(batch.maps) },
      steps.map((step) => ({ ...step, map: final(step.map) })),
    );
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
