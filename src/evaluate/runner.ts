// The evaluation loop, over the explain service. Images go in fixed batches (positions k*B ..
// (k+1)*B - 1 of the dataset), so a resumed run sees exactly the batches, and therefore the seeds
// and results, of a run that was never interrupted. Per batch: one forward pass picks each image's
// class, then per method one explain call over the batch's resolved rows (timed; each method's
// first call in a run is preceded by an untimed one on a single image that builds its sessions),
// one more per sanity-cascade model when the sanity metric is asked for, and one batched call per
// metric; the (image, method) records are appended to the store, fsync'ed, before the next method
// starts. A rerun skips the (batch, method) pairs whose records are all stored, and recomputes a
// pair that was cut short, appending only its missing records. `batches` runs only some batches (a
// shard, a queue job) and `cache` carries warmed-up methods and the sanity cascade across calls on
// one model.
import { join, posix } from "node:path";
import { prepareBatch } from "../explain/batches.ts";
import { Explainer, type ExplainRequest } from "../explain/explainer.ts";
import type { MethodResult } from "../explain/explanation.ts";
import { displayOf } from "../explain/render.ts";
import { overlayOnOriginal } from "../image/overlay.ts";
import type { InputTransform, RgbImage } from "../image/types.ts";
import { decodeImage } from "../io/images.ts";
import { writePng } from "../io/png.ts";
import type { MethodChoice } from "../methods/registry.ts";
import { modelProbability } from "../metrics/deletion-insertion.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { TargetBatch } from "../runtime/targets.ts";
import { gatherRows, type FloatTensor } from "../tensor/tensor.ts";
import { CamscopeError } from "../errors.ts";
import { NonFiniteError } from "../util/finite.ts";
import { deriveSeed } from "../util/random.ts";
import {
  checkArray,
  checkChoice,
  checkInteger,
  checkNumber,
  checkSeed,
  describe,
} from "../util/validate.ts";
import type { EvalMetric, InputRegions, MetricBatch } from "./metrics.ts";
import type { EvalRecord, RecordSink } from "./records.ts";
import {
  cascadeLength,
  DEFAULT_SANITY_STEPS,
  openCascade,
  spreadSteps,
  type CascadeMaps,
  type CascadeStep,
} from "./sanity.ts";

/** A dataset record as the runner needs it (the dataset loaders' DatasetRecord fits). */
export interface EvalItem {
  id: string;
  file: string;
  label?: number;
}

export interface RunOptions<I extends EvalItem> {
  /** The methods, with their options (see chooseMethod). */
  methods: readonly MethodChoice[];
  metrics: readonly EvalMetric[];
  /** Target layers ("auto" for the model's default). */
  layers: readonly string[];
  /** Explain the dataset label (top-1 where a record has none), or always the top-1 class. */
  target: "label" | "top1";
  /** Images per explain call; also inputs per model run. */
  batchSize: number;
  seed: number;
  /** The first `examples` images get an overlay per method for the report's grids. */
  examples: number;
  /**
   * Sanity metric: the cascade steps, as counts of re-initialised layers from the top (0: an
   * unchanged copy). Default: DEFAULT_SANITY_STEPS spread over the cascade (spreadSteps).
   */
  sanitySteps?: readonly number[];
  /**
   * Average Drop / Increase through a hard mask of the top `keep` share of each map's pixels
   * (Relevance-CAM's protocol: 0.5) instead of through the map.
   */
  averageDropKeep?: number;
  /** Boxes and mask of an item in the model-input frame; undefined where it has none. */
  regions?: (
    item: I,
    original: { width: number; height: number },
    transform: InputTransform,
  ) => Promise<InputRegions | undefined>;
  /**
   * Only these batches (batch k: dataset positions k*batchSize .. (k+1)*batchSize - 1), for a
   * shard or a queue job; default: every batch. Positions, seeds and examples stay the whole
   * run's, so the records are those a run of every batch stores.
   */
  batches?: ReadonlySet<number>;
  /** Kept across calls on one model runtime (a queue worker runs one batch per call). */
  cache?: RunCache;
  /** Called after each stored batch of records: records written this run, records to write. */
  onProgress?: (done: number, total: number) => void;
  /** Notes for the user (skipped images). */
  log?: (message: string) => void;
}

export interface RunSummary {
  /** Records written by this call. */
  written: number;
  /** Records found already stored. */
  resumed: number;
  /** Images that could not be decoded or preprocessed. */
  failed: { image: string; file: string; error: string }[];
  /** Images whose logits, activations, gradients or maps held NaN or Inf: records flagged. */
  flagged: { image: string; file: string; error: string }[];
}

export const EXAMPLES_DIR = "examples";

/** What one call leaves for the next on the same model runtime: set-up that is not per batch. */
export interface RunCache {
  /** Methods whose sessions are built (their untimed warm-up run is done). */
  warmed: Set<string>;
  /** The sanity metric's randomised models, made once. */
  cascade?: CascadeStep[];
}

/** Evaluates every (item, method) not yet in `store`, appending records as they finish. */
export async function runEvaluation<I extends EvalItem>(
  ctx: ModelRuntime,
  items: readonly I[],
  store: RecordSink,
  options: RunOptions<I>,
): Promise<RunSummary> {
  checkRunOptions(items, options);
  const explainer = new Explainer(ctx);
  const needsRegions = options.metrics.some((m) => m.needs === "regions");
  const cache = options.cache ?? { warmed: new Set<string>() };
  // The randomised models are made and opened once per run; their sessions stay in the engine.
  const cascade = options.metrics.some((m) => m.needs === "cascade")
    ? (cache.cascade ??= openCascade(
        ctx,
        deriveSeed(options.seed, "sanity"),
        options.sanitySteps ?? spreadSteps(cascadeLength(ctx), DEFAULT_SANITY_STEPS),
      ))
    : [];
  const warmed = cache.warmed;
  const pendingOf = (batch: readonly I[], { method }: MethodChoice) =>
    batch.some((item) => !store.has(item.id, method.name));
  const size = options.batchSize;
  const selected = (batchIndex: number) => !options.batches || options.batches.has(batchIndex);
  let total = 0;
  let count = 0;
  items.forEach((item, position) => {
    if (!selected(Math.floor(position / size))) return;
    count++;
    for (const { method } of options.methods) if (!store.has(item.id, method.name)) total++;
  });
  const summary: RunSummary = {
    written: 0,
    resumed: count * options.methods.length - total,
    failed: [],
    flagged: [],
  };
  options.onProgress?.(0, total);

  for (let start = 0, batchIndex = 0; start < items.length; start += size, batchIndex++) {
    if (!selected(batchIndex)) continue;
    const batch = items.slice(start, start + size);
    const methods = options.methods.filter((m) => pendingOf(batch, m));
    if (methods.length === 0) continue;
    let loaded = await loadBatch(batch, start, ctx, summary, options.log);
    while (loaded.items.length > 0) {
      try {
        await evaluateLoaded(loaded, batchIndex);
        break;
      } catch (error) {
        // NaN or Inf for some images: their pending records are stored flagged, and the batch
        // goes on without them (a resume leaves them out the same way).
        if (!(error instanceof NonFiniteError)) throw error;
        const bad = new Set(error.images);
        const flagged: EvalRecord[] = [];
        for (const i of bad) {
          const item = loaded.items[i]!;
          const reason = `${error.what} hold ${error.found}`;
          options.log?.(`flagged ${item.id} ("${item.file}"): ${reason}`);
          summary.flagged.push({ image: item.id, file: item.file, error: reason });
          for (const { method } of options.methods) {
            if (!store.has(item.id, method.name))
              flagged.push(flaggedRecord(ctx, item, method.name, reason, options.metrics));
          }
        }
        summary.written += await store.append(flagged);
        options.onProgress?.(summary.written, total);
        loaded = subsetBatch(loaded, (i) => !bad.has(i));
      }
    }
  }
  return summary;

  /** Explains and scores one loaded batch with every method that has records pending in it. */
  async function evaluateLoaded(loaded: LoadedBatch<I>, batchIndex: number): Promise<void> {
    const methods = options.methods.filter((m) => pendingOf(loaded.items, m));
    if (methods.length === 0) return;
    const { tensor, transforms } = loaded;
    const regions = needsRegions
      ? await Promise.all(
          loaded.items.map((item, i) =>
            options.regions ? options.regions(item, loaded.rgb[i]!, transforms[i]!) : undefined,
          ),
        )
      : loaded.items.map(() => undefined);

    // One forward pass picks the classes; the probabilities go into the records.
    const rows = await ctx.targets(tensor, {
      classes: loaded.items.map((item) =>
        options.target === "label" && item.label !== undefined ? item.label : "top1",
      ),
    });
    const classes = rows.targets.classes;
    const probabilities = ctx.scores(rows.logits, classes, "probability");
    const score = modelProbability(ctx, classes, options.batchSize);

    for (const choice of methods) {
      const method = choice.method;
      const request: ExplainRequest = {
        methods: [choice],
        layers: options.layers,
        batchSize: options.batchSize,
        seed: options.seed,
      };
      if (!warmed.has(method.name)) {
        // Untimed run on the first image: builds the method's ONNX Runtime sessions and compiles
        // its graphs, so the timed call below measures explaining, not set-up.
        await explainer.explain(firstRow(rows), request);
        warmed.add(method.name);
      }
      const started = performance.now();
      const explanation = await explainer.explain(rows, request);
      const milliseconds = (performance.now() - started) / loaded.items.length;
      const result = explanation.results[0]!;
      // Passes per image: a gradient or relevance run counts as a forward and a backward pass.
      const shared = explanation.sharedPasses;
      const cost = {
        milliseconds,
        forward: shared.forward + shared.backward + result.passes.forward + result.passes.backward,
        backward: shared.backward + result.passes.backward,
      };
      const records = loaded.items.map((item, i): EvalRecord => ({
        image: item.id,
        file: item.file,
        method: method.name,
        class: classes[i]!,
        label: ctx.label(classes[i]!),
        probability: probabilities[i]!,
        values: {},
        curves: {},
        cost,
        notes: [],
      }));
      const cascadeMaps: CascadeMaps[] = [];
      for (const step of cascade) {
        const target = { classes };
        const maps = (await step.explainer.explain(tensor, { ...request, target })).results[0]!;
        cascadeMaps.push({ layers: step.layers, raw: maps.raw, map: maps.map });
      }
      const metricBatch: MetricBatch = {
        ctx,
        images: tensor,
        maps: result.map,
        signed: result.signed,
        raw: result.raw,
        cascade: cascadeMaps,
        classes,
        score,
        regions: [],
        seed: deriveSeed(options.seed, "metrics", batchIndex),
        batchSize: options.batchSize,
        ...(options.averageDropKeep !== undefined
          ? { averageDropKeep: options.averageDropKeep }
          : {}),
      };
      for (const metric of options.metrics) {
        await computeMetric(metric, metricBatch, regions, records);
      }
      const examples = await writeExamples(store.dir, loaded, result, options.examples);
      examples.forEach((path, i) => {
        if (path) records[i]!.example = path;
      });
      const fresh = records.filter((r) => !store.has(r.image, r.method));
      summary.written += await store.append(fresh);
      options.onProgress?.(summary.written, total);
    }
  }
}

/** The run options checked (types and ranges): a batch size of 0 would never advance. */
function checkRunOptions<I extends EvalItem>(items: unknown, options: RunOptions<I>): void {
  checkArray(items, "items");
  if (options === null || typeof options !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `run options must be an object, got ${describe(options)}`,
    );
  }
  checkArray(options.methods, "methods");
  checkArray(options.metrics, "metrics");
  checkArray(options.layers, "layers");
  checkChoice(options.target, "target", ["label", "top1"] as const);
  checkInteger(options.batchSize, "batchSize", { min: 1 });
  checkSeed(options.seed);
  checkInteger(options.examples, "examples", { min: 0 });
  if (options.sanitySteps !== undefined) checkArray(options.sanitySteps, "sanitySteps");
  if (options.averageDropKeep !== undefined) {
    checkNumber(options.averageDropKeep, "averageDropKeep", { min: 0, max: 1, minExclusive: true });
  }
  if (options.batches !== undefined) {
    for (const k of options.batches) checkInteger(k, "batches", { min: 0 });
  }
}

/** The record stored for an image whose values were not finite (see EvalRecord.flagged). */
function flaggedRecord(
  ctx: ModelRuntime,
  item: EvalItem,
  method: string,
  reason: string,
  metrics: readonly EvalMetric[],
): EvalRecord {
  const cls = item.label ?? -1;
  return {
    image: item.id,
    file: item.file,
    method,
    class: cls,
    label: cls >= 0 ? ctx.label(cls) : "",
    probability: 0,
    values: Object.fromEntries(metrics.flatMap((m) => m.columns.map((c) => [c.name, null]))),
    curves: {},
    cost: { milliseconds: 0, forward: 0, backward: 0 },
    notes: [`flagged: ${reason}`],
    flagged: reason,
  };
}

/** The rows of a loaded batch that `keep` accepts. */
function subsetBatch<I>(loaded: LoadedBatch<I>, keep: (row: number) => boolean): LoadedBatch<I> {
  const rows = loaded.items.map((_, i) => i).filter(keep);
  return {
    items: rows.map((i) => loaded.items[i]!),
    rgb: rows.map((i) => loaded.rgb[i]!),
    positions: rows.map((i) => loaded.positions[i]!),
    transforms: rows.map((i) => loaded.transforms[i]!),
    tensor:
      rows.length > 0 ? gatherRows(loaded.tensor, rows) : { data: new Float32Array(0), dims: [0] },
  };
}

/** Runs one metric on the rows it applies to and writes its columns into the records. */
async function computeMetric(
  metric: EvalMetric,
  batch: MetricBatch,
  regions: readonly (InputRegions | undefined)[],
  records: EvalRecord[],
): Promise<void> {
  let rows = records.map((_, i) => i);
  if (metric.needs === "regions") {
    rows = rows.filter((i) => regions[i] !== undefined);
    for (const [i, r] of records.entries()) {
      if (regions[i] !== undefined) continue;
      for (const c of metric.columns) r.values[c.name] = null;
      r.notes.push(`${metric.name}: skipped, the image has no boxes or mask`);
    }
    if (rows.length === 0) return;
  }
  const subset: MetricBatch =
    rows.length === records.length
      ? { ...batch, regions: regions.map((r) => r ?? { boxes: [] }) }
      : {
          ...batch,
          images: gatherRows(batch.images, rows),
          maps: gatherRows(batch.maps, rows),
          raw: batch.raw.map((t) => gatherRows(t, rows)),
          ...(batch.cascade
            ? {
                cascade: batch.cascade.map((c) => ({
                  layers: c.layers,
                  raw: c.raw.map((t) => gatherRows(t, rows)),
                  map: gatherRows(c.map, rows),
                })),
              }
            : {}),
          classes: rows.map((i) => batch.classes[i]!),
          regions: rows.map((i) => regions[i]!),
          // The score function knows each batch row's class; the subset renumbers the rows.
          score: (inputs, count, sub) =>
            batch.score(
              inputs,
              count,
              Int32Array.from(sub, (r) => rows[r]!),
            ),
        };
  const out = await metric.compute(subset);
  rows.forEach((i, j) => {
    const record = records[i]!;
    for (const c of metric.columns) {
      const v = out.values[c.name]![j]!;
      record.values[c.name] = Number.isFinite(v) ? v : null;
      if (!Number.isFinite(v)) record.notes.push(`${c.name}: no value for this image (${v})`);
    }
    for (const curve of metric.curves) {
      const data = out.curves?.[curve.name];
      if (!data) continue;
      // Points per row: fixed by the metric, or by the run (the sanity cascade's steps).
      const points = data.length / rows.length;
      record.curves[curve.name] = Array.from(data.subarray(j * points, (j + 1) * points));
    }
  });
}

interface LoadedBatch<I> {
  items: I[];
  rgb: RgbImage[];
  tensor: FloatTensor;
  transforms: InputTransform[];
  /** Position of each loaded item in the dataset. */
  positions: number[];
}

/**
 * Decodes and preprocesses a batch (one preprocess call, see prepareBatch); images that fail are
 * reported and left out.
 */
async function loadBatch<I extends EvalItem>(
  batch: readonly I[],
  offset: number,
  ctx: ModelRuntime,
  summary: RunSummary,
  log: ((message: string) => void) | undefined,
): Promise<LoadedBatch<I>> {
  const fail = (item: I, error: string) => {
    summary.failed.push({ image: item.id, file: item.file, error });
    log?.(`skipped ${item.id}: ${error}`);
  };
  const decoded = await Promise.all(
    batch.map((item, j) =>
      decodeImage(item.file, undefined, ctx.card.preprocessing).then(
        (rgb) => ({ item, rgb, index: offset + j }),
        (error: Error) => {
          fail(item, error.message);
          return undefined;
        },
      ),
    ),
  );
  const { images, input } = prepareBatch(
    decoded.filter((d) => d !== undefined),
    ctx.card.preprocessing,
    (item) => item.file,
    (f) => fail(f.item, f.error),
  );
  return {
    items: images.map((d) => d.item),
    rgb: images.map((d) => d.rgb),
    positions: images.map((d) => d.index),
    tensor: input,
    transforms: images.map((d) => d.transform),
  };
}

/** The rows of the first image of a batch (the warm-up run). */
function firstRow(rows: TargetBatch): TargetBatch {
  const index = rows.targets.image.flatMap((image, r) => (image === 0 ? [r] : []));
  return {
    images: 1,
    targets: {
      ...rows.targets,
      image: index.map(() => 0),
      classes: index.map((r) => rows.targets.classes[r]!),
    },
    input: gatherRows(rows.input, index),
    logits: gatherRows(rows.logits, index),
    scores: Float32Array.from(index, (r) => rows.scores[r]!),
  };
}

/**
 * Overlays of the maps of items among the dataset's first `count` on their original images,
 * written to examples/<method>/<position>.png; returns each item's path relative to the run
 * folder (undefined for items that are not examples).
 */
async function writeExamples<I>(
  dir: string,
  loaded: LoadedBatch<I>,
  result: MethodResult,
  count: number,
): Promise<(string | undefined)[]> {
  const [, height, width] = result.map.dims as [number, number, number];
  const area = height * width;
  const [, rawH, rawW] = result.raw[0]!.dims as [number, number, number];
  return Promise.all(
    loaded.positions.map(async (position, i) => {
      if (position >= count) return undefined;
      // Shown as `camscope explain` shows it: signed maps in a diverging colormap around 0.
      const shown = displayOf(
        result,
        result.map.data.subarray(i * area, (i + 1) * area),
        result.raw[0]!.data.subarray(i * rawH * rawW, (i + 1) * rawH * rawW),
      );
      const overlay = overlayOnOriginal(
        loaded.rgb[i]!,
        { width, height, data: shown.positions },
        loaded.transforms[i]!,
        { colormap: shown.colormap, normalize: "none" },
      );
      const path = posix.join(EXAMPLES_DIR, result.method.name, `${position}.png`);
      await writePng(join(dir, path), overlay);
      return path;
    }),
  );
}
