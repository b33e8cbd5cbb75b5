// From `camscope evaluate`'s options to what a run needs: the model opened, methods, metrics and
// layers resolved, the dataset loaded, and the run's configuration (whose hash names the run).
// A local run, a shard, a queue's coordinator and every queue worker build it here from the same
// options, so a worker whose model or dataset differs from the coordinator's gets another hash.
import { resolve } from "node:path";
import { loadDataset, regionsInInput } from "../data/dataset.ts";
import type { DatasetFormat, DatasetRecord } from "../data/dataset.ts";
import type { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { Explainer } from "../explain/explainer.ts";
import { modelFileHash, type EvaluateConfig } from "../evaluate/config.ts";
import {
  annotationsHash,
  manifestEntries,
  type ManifestEntry,
} from "../evaluate/dataset-identity.ts";
import { resolveMetrics, type EvalMetric } from "../evaluate/metrics.ts";
import type { RunOptions } from "../evaluate/runner.ts";
import { cascadeLength, spreadSteps } from "../evaluate/sanity.ts";
import { isBundledModel } from "../io/models.ts";
import type { MethodChoice } from "../methods/registry.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import { prepareOutputDir } from "../util/files.ts";
import { commaList } from "./explain-args.ts";
import type { Io } from "./io.ts";
import { openFromOptions, type ModelOptions } from "./options.ts";

export const PROGRESS_BAR = 24;

/** The values of --average-drop-mask. */
export const AVERAGE_DROP_MASKS = ["map", "top50"] as const;
export type AverageDropMask = (typeof AVERAGE_DROP_MASKS)[number];

export interface EvaluateCliOptions extends ModelOptions {
  data: string;
  format?: DatasetFormat;
  methods: string;
  metrics: string;
  layer: string;
  target: "label" | "top1";
  limit?: number;
  seed: number;
  batchSize: number;
  examples: number;
  sanitySteps: number;
  /**
   * How Average Drop / Increase show an image: through its map (default), or through a hard mask
   * of the top 50% of its pixels (Relevance-CAM's evaluation).
   */
  averageDropMask?: AverageDropMask;
  out: string;
  /** "i/N": evaluate only shard i of N (./evaluate.ts). */
  shard?: string;
  /** redis://host:port: run on queue workers (../evaluate/queue/). */
  queue?: string;
  /** With queue: print the run's progress and exit. */
  status?: boolean;
}

/** The options that decide a run's records, as a queue's coordinator hands them to workers. */
export type RunDefinition = Omit<
  EvaluateCliOptions,
  "out" | "threads" | "forceThreads" | "shard" | "queue" | "status"
>;

const DEFINITION_KEYS = [
  "model",
  "preset",
  "output",
  "card",
  "layout",
  "colorManagement",
  "data",
  "format",
  "methods",
  "metrics",
  "layer",
  "target",
  "limit",
  "seed",
  "batchSize",
  "examples",
  "sanitySteps",
  "averageDropMask",
] as const satisfies readonly (keyof RunDefinition)[];

export function runDefinition(options: EvaluateCliOptions): RunDefinition {
  const definition: Record<string, unknown> = {};
  for (const key of DEFINITION_KEYS) {
    if (options[key] !== undefined) definition[key] = options[key];
  }
  return definition as unknown as RunDefinition;
}

/**
 * The options with the model, card and dataset paths made absolute, for runs whose workers read
 * them from a shared filesystem (a bundled model name stays a name).
 */
export function withAbsolutePaths<O extends RunDefinition>(options: O): O {
  return {
    ...options,
    model: isBundledModel(options.model) ? options.model : resolve(options.model),
    ...(options.card ? { card: resolve(options.card) } : {}),
    data: options.data === "" ? "" : resolve(options.data),
  };
}

export interface PreparedEvaluation {
  engine: Engine;
  ctx: ModelRuntime;
  /** The methods, with their resolved options. */
  methods: MethodChoice[];
  metrics: EvalMetric[];
  layers: string[];
  /** The dataset images the run covers (the first --limit). */
  items: DatasetRecord[];
  /** Every dataset record's identity, in dataset order. */
  identity: ManifestEntry[];
  config: EvaluateConfig;
}

/**
 * Opens the model and the dataset and builds the configuration; `out` (a run folder to write) is
 * checked for writability after the options and before the dataset is read. The caller disposes
 * `engine`. Dataset records that cannot be used are reported on io.err.
 */
export async function prepareEvaluation(
  options: RunDefinition & Pick<EvaluateCliOptions, "threads" | "forceThreads">,
  io: Io,
  out?: string,
): Promise<PreparedEvaluation> {
  const { engine, ctx } = await openFromOptions(options);
  try {
    const layers = commaList(options.layer, "--layer");
    const plan = await new Explainer(ctx).plan({
      methods: commaList(options.methods, "--methods"),
      layers,
    });
    for (const { method, why } of plan.skipped) {
      io.err.write(`note: ${method} left out of "all": ${why}\n`);
    }
    const methods = plan.choices;
    const metrics = resolveMetrics(commaList(options.metrics, "--metrics"));
    // A run folder that cannot be written fails now, before the dataset is read and hashed.
    if (out !== undefined) await prepareOutputDir(out);
    if (options.data === "") {
      throw new CamscopeError("INVALID_ARGUMENT", "--data is empty: give a dataset folder or file");
    }
    const dataset = await loadDataset(options.data, {
      ...(options.format ? { format: options.format } : {}),
      labels: ctx.card.labels,
    });
    for (const p of dataset.problems) {
      const where = [p.id, p.file && `"${p.file}"`].filter(Boolean).join(" ") || "?";
      io.err.write(`skipped record ${where}: ${p.reason}\n`);
    }
    if (dataset.records.length === 0) {
      const first = dataset.problems[0];
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Dataset "${options.data}" has no usable record: ${dataset.problems.length === 0 ? "it lists none" : `all ${dataset.problems.length} were skipped (above; the first: ${first!.reason})`}`,
      );
    }
    const identity = manifestEntries(dataset.records);
    const config: EvaluateConfig = {
      model: {
        name: options.model,
        sha256: await modelFileHash(options.model),
        preprocessing: ctx.card.preprocessing,
      },
      dataset: {
        path: resolve(options.data),
        format: dataset.format,
        records: dataset.records.length,
        sha256: annotationsHash(identity),
      },
      methods: methods.map((m) => m.method.name),
      ...methodOptions(methods),
      metrics: metrics.map((m) => m.name),
      layers,
      target: options.target,
      seed: options.seed,
      batchSize: options.batchSize,
      examples: options.examples,
      ...(metrics.some((m) => m.needs === "cascade")
        ? {
            sanity: {
              steps: spreadSteps(cascadeLength(ctx), options.sanitySteps),
              layers: cascadeLength(ctx),
            },
          }
        : {}),
      // Recorded only when it applies, so that other runs keep their configuration's hash.
      ...(options.averageDropMask === "top50" && metrics.some((m) => m.name === "average-drop")
        ? { averageDrop: { keep: 0.5 } }
        : {}),
    };
    const items = dataset.records.slice(0, options.limit ?? dataset.records.length);
    return { engine, ctx, methods, metrics, layers, items, identity, config };
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}

/** The runner's options for a prepared run (progress and log left to the caller). */
export function runOptionsOf(
  prepared: PreparedEvaluation,
): Omit<RunOptions<DatasetRecord>, "onProgress" | "log"> {
  const { config } = prepared;
  return {
    methods: prepared.methods,
    metrics: prepared.metrics,
    layers: prepared.layers,
    target: config.target,
    batchSize: config.batchSize,
    seed: config.seed,
    examples: config.examples,
    ...(config.sanity ? { sanitySteps: config.sanity.steps } : {}),
    ...(config.averageDrop ? { averageDropKeep: config.averageDrop.keep } : {}),
    regions: async (item, original, transform) =>
      item.boxes !== undefined || item.mask !== undefined
        ? regionsInInput(item, original, transform)
        : undefined,
  };
}

/** Each image id's dataset position. */
export function positionsOf(identity: readonly { id: string }[]): Map<string, number> {
  return new Map(identity.map((e, i) => [e.id, i]));
}

/** A run whose every image failed or was flagged has nothing to tabulate: an error. */
export function checkUsable(
  records: readonly { flagged?: string; file: string }[],
  failed: number,
  data: string,
): void {
  if (records.some((r) => !r.flagged)) return;
  const flagged = records.find((r) => r.flagged);
  throw new CamscopeError(
    "NON_FINITE",
    flagged
      ? `No image of dataset "${data}" could be evaluated: every record is flagged (e.g. "${flagged.file}": ${flagged.flagged})`
      : `No image of dataset "${data}" could be evaluated: ${failed} could not be read (above)`,
  );
}

/** The resolved options of the methods that have any, by method name (for the configuration). */
function methodOptions(methods: readonly MethodChoice[]): Pick<EvaluateConfig, "methodOptions"> {
  const withOptions = methods.filter((m) => m.method.options.length > 0);
  return withOptions.length === 0
    ? {}
    : { methodOptions: Object.fromEntries(withOptions.map((m) => [m.method.name, m.options])) };
}
