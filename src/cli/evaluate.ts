// `camscope evaluate`: every method named (CAM, pixel attribution, LRP), on every image of a
// dataset, scored by every metric named (signed maps read per metric column: see
// evaluate/metrics.ts); records persist as they finish (resumable after a kill), then tables (CSV,
// JSON) and a self-contained HTML report are written to the run folder.
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { DATASET_FORMATS, loadDataset, regionsInInput } from "../data/dataset.ts";
import { CamscopeError } from "../errors.ts";
import { Explainer } from "../explain/explainer.ts";
import type { MethodChoice } from "../methods/registry.ts";
import type { DatasetFormat, DatasetRecord } from "../data/dataset.ts";
import { modelFileHash, tableOptions, type EvaluateConfig } from "../evaluate/config.ts";
import { annotationsHash, manifestEntries } from "../evaluate/dataset-identity.ts";
import { formatNumber } from "../evaluate/html.ts";
import { EVAL_METRICS, resolveMetrics } from "../evaluate/metrics.ts";
import { renderReport } from "../evaluate/report.ts";
import { runEvaluation } from "../evaluate/runner.ts";
import { cascadeLength, DEFAULT_SANITY_STEPS, spreadSteps } from "../evaluate/sanity.ts";
import { RunStore } from "../evaluate/store.ts";
import { buildTables, rowOf, tablesCsv, type RunTables } from "../evaluate/tables.ts";
import { winsCsv } from "../evaluate/wins.ts";
import { commaList } from "./explain-args.ts";
import type { Io } from "./io.ts";
import {
  addModelOptions,
  nonNegativeInt,
  openFromOptions,
  positiveInt,
  type ModelOptions,
} from "./options.ts";
import { Progress } from "./progress.ts";
import { prepareOutputDir, writeOutputFile } from "../util/files.ts";

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
  averageDropMask: AverageDropMask;
  out: string;
}

/** How Average Drop / Increase show an image: through its map, or a hard mask of its top 50%. */
const AVERAGE_DROP_MASKS = ["map", "top50"] as const;
type AverageDropMask = (typeof AVERAGE_DROP_MASKS)[number];

export const TABLE_JSON = "summary.json";
export const TABLE_CSV = "summary.csv";
export const REPORT_HTML = "report.html";
export const WINS_CSV = "wins.csv";
const PROGRESS_BAR = 24;

export function registerEvaluate(program: Command, io: Io): void {
  addModelOptions(
    program
      .command("evaluate")
      .description(
        "score explanation methods on a dataset with faithfulness, localization and cost metrics; resumable",
      ),
  )
    .requiredOption("-d, --data <path>", "dataset: COCO JSON, VOC folder, ImageNet-style folders")
    .addOption(
      new Option("--format <format>", "dataset format (default: detected)").choices(
        DATASET_FORMATS,
      ),
    )
    .option(
      "--methods <names>",
      'methods, comma-separated: CAM methods ("all": every one) and pixel-attribution methods ("pixel": every one)',
      "all",
    )
    .option(
      "--metrics <names>",
      `metrics, comma-separated, or "all" (${EVAL_METRICS.map((m) => m.name).join(", ")})`,
      "all",
    )
    .option("-l, --layer <names>", 'layers to explain, comma-separated, or "auto"', "auto")
    .addOption(
      new Option("--target <which>", "class to explain: the dataset label, or the top-1 class")
        .choices(["label", "top1"])
        .default("label"),
    )
    .option("--limit <n>", "evaluate only the dataset's first n images", positiveInt)
    .option("--seed <n>", "seed of every random draw", nonNegativeInt, 0)
    .option("--batch-size <n>", "images per explain call and inputs per model run", positiveInt, 16)
    .option("--examples <n>", "images shown per method in the report's grids", nonNegativeInt, 6)
    .option(
      "--sanity-steps <n>",
      "sanity metric: randomised models, spread from the classifier alone to every layer",
      positiveInt,
      DEFAULT_SANITY_STEPS,
    )
    .addOption(
      new Option(
        "--average-drop-mask <mask>",
        "average-drop: show the image through its map (map, Grad-CAM++'s protocol) or through a hard mask of the top 50% of its pixels (top50, Relevance-CAM's evaluation)",
      )
        .choices(AVERAGE_DROP_MASKS)
        .default("map"),
    )
    .requiredOption("-o, --out <dir>", "run folder (resumed if it holds this configuration)")
    .action(async (options: EvaluateCliOptions) => {
      const tables = await evaluate(options, io);
      io.out.write(textTable(tables));
      const files = [TABLE_CSV, ...(tables.wins ? [WINS_CSV] : []), TABLE_JSON, REPORT_HTML];
      for (const file of files) io.out.write(`${join(options.out, file)}\n`);
    });
}

/** Runs (or resumes) the evaluation and writes its tables and report; returns the tables. */
export async function evaluate(options: EvaluateCliOptions, io: Io): Promise<RunTables> {
  const { engine, ctx } = await openFromOptions(options);
  let store: RunStore<EvaluateConfig> | undefined;
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
    await prepareOutputDir(options.out);
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
    const opened = await RunStore.open(options.out, config, {
      dataset: { entries: identity, evaluate: new Set(items.map((i) => i.id)) },
    });
    store = opened.store;
    if (opened.droppedTornLine) {
      io.err.write("dropped the incomplete last record of an interrupted run; it is recomputed\n");
    }
    let progress: Progress | undefined;
    const summary = await runEvaluation<DatasetRecord>(ctx, items, store, {
      methods,
      metrics,
      layers,
      target: options.target,
      batchSize: options.batchSize,
      seed: options.seed,
      examples: options.examples,
      ...(config.sanity ? { sanitySteps: config.sanity.steps } : {}),
      ...(config.averageDrop ? { averageDropKeep: config.averageDrop.keep } : {}),
      regions: async (item, original, transform) =>
        item.boxes !== undefined || item.mask !== undefined
          ? regionsInInput(item, original, transform)
          : undefined,
      onProgress: (done, total) => {
        if (total === 0) return;
        progress ??= new Progress(io.err, total, "records", { bar: PROGRESS_BAR });
        progress.update(done);
      },
      log: (message) => (progress ? progress.log(message) : io.err.write(`${message}\n`)),
    });
    progress?.finish();
    if (summary.resumed > 0) {
      io.err.write(
        `resumed: ${summary.resumed} records were already stored, ${summary.written} new\n`,
      );
    }
    // The records of this run's images only: a smaller --limit tabulates the first images.
    const ids = new Set(items.map((i) => i.id));
    const records = store.records().filter((r) => ids.has(r.image));
    if (!records.some((r) => !r.flagged)) {
      const flagged = records.find((r) => r.flagged);
      throw new CamscopeError(
        "NON_FINITE",
        flagged
          ? `No image of dataset "${options.data}" could be evaluated: every record is flagged (e.g. "${flagged.file}": ${flagged.flagged})`
          : `No image of dataset "${options.data}" could be evaluated: ${summary.failed.length} could not be read (above)`,
      );
    }
    const tables = buildTables(records, config.methods, config.metrics, tableOptions(config));
    const out = (file: string) => join(options.out, file);
    await writeOutputFile(out(TABLE_JSON), `${JSON.stringify(tables, null, 2)}\n`);
    await writeOutputFile(out(TABLE_CSV), tablesCsv(tables));
    if (tables.wins) await writeOutputFile(out(WINS_CSV), winsCsv(tables.wins));
    await writeOutputFile(
      out(REPORT_HTML),
      await renderReport(options.out, config, tables, records),
    );
    return tables;
  } finally {
    await store?.close();
    await engine.dispose();
  }
}

/** A plain-text table of the means for stdout: a row per method, a column per metric column. */
export function textTable(tables: RunTables): string {
  const header = ["method", ...tables.columns.map((c) => c.name)];
  const rows = tables.methods.map((m) => [
    m,
    ...tables.columns.map((c) => {
      const r = rowOf(tables, m, c.name);
      return r && r.n > 0 ? formatNumber(r.mean) : "-";
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return `${[line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")}\n`;
}

/** The resolved options of the methods that have any, by method name (for the configuration). */
function methodOptions(methods: readonly MethodChoice[]): Pick<EvaluateConfig, "methodOptions"> {
  const withOptions = methods.filter((m) => m.method.options.length > 0);
  return withOptions.length === 0
    ? {}
    : { methodOptions: Object.fromEntries(withOptions.map((m) => [m.method.name, m.options])) };
}
