// `camscope evaluate`: every method named (CAM, pixel attribution, LRP), on every image of a
// dataset, scored by every metric named (signed maps read per metric column: see
// evaluate/metrics.ts); records persist as they finish (resumable after a kill), then tables (CSV,
// JSON) and a self-contained HTML report are written to the run folder. --shard runs a share of the batches
// into its own folder (camscope merge joins them); --queue hands the batches to queue workers
// (./evaluate-queue.ts).
import { join } from "node:path";
import { Option, type Command } from "commander";
import { DATASET_FORMATS } from "../data/dataset.ts";
import type { DatasetRecord } from "../data/dataset.ts";
import type { EvaluateConfig } from "../evaluate/config.ts";
import { formatNumber } from "../evaluate/html.ts";
import { EVAL_METRICS } from "../evaluate/metrics.ts";
import { outputFiles, writeRunOutputs } from "../evaluate/outputs.ts";
import { runEvaluation } from "../evaluate/runner.ts";
import { DEFAULT_SANITY_STEPS } from "../evaluate/sanity.ts";
import {
  claimShard,
  parseShard,
  shardBatches,
  shardName,
  writeShardInfo,
  type ShardSpec,
} from "../evaluate/shards.ts";
import { RunStore } from "../evaluate/store.ts";
import { rowOf, type RunTables } from "../evaluate/tables.ts";
import { CamscopeError } from "../errors.ts";
import {
  AVERAGE_DROP_MASKS,
  checkUsable,
  positionsOf,
  PROGRESS_BAR,
  prepareEvaluation,
  runOptionsOf,
  type EvaluateCliOptions,
} from "./evaluate-setup.ts";
import { evaluateOnQueue, printQueueStatus } from "./evaluate-queue.ts";
import type { Io } from "./io.ts";
import { addModelOptions, nonNegativeInt, positiveInt } from "./options.ts";
import { Progress } from "./progress.ts";

export type { EvaluateCliOptions };
export { REPORT_HTML, TABLE_CSV, TABLE_JSON, WINS_CSV } from "../evaluate/outputs.ts";

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
    .option(
      "--shard <i/N>",
      "evaluate only shard i of N (every N-th batch, i from 0) into --out; camscope merge joins the shards",
    )
    .option(
      "--queue <url>",
      "redis://host:port: hand the batches to camscope worker processes, collect their records in --out",
    )
    .option("--status", "with --queue: print the run's progress and exit")
    .action(async (options: EvaluateCliOptions) => {
      if (options.status) {
        if (!options.queue) {
          throw new CamscopeError("INVALID_ARGUMENT", "--status needs --queue (the run's queue)");
        }
        await printQueueStatus(options, io);
        return;
      }
      if (options.queue && options.shard) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          "--shard and --queue exclude each other: a queue run spreads every batch over its workers",
        );
      }
      if (options.shard) {
        const { written, records } = await evaluateShard(options, parseShard(options.shard), io);
        io.out.write(
          `shard ${options.shard}: ${records} records in ${options.out} (${written} new); join the shards with camscope merge\n`,
        );
        return;
      }
      const tables = options.queue
        ? await evaluateOnQueue(options, io)
        : await evaluate(options, io);
      io.out.write(textTable(tables));
      for (const file of outputFiles(tables)) io.out.write(`${join(options.out, file)}\n`);
    });
}

/** Runs (or resumes) the evaluation and writes its tables and report; returns the tables. */
export async function evaluate(options: EvaluateCliOptions, io: Io): Promise<RunTables> {
  const run = await runLocally(options, undefined, io);
  return run.tables!;
}

/** Runs (or resumes) one shard of the evaluation; its records stay in its folder. */
export async function evaluateShard(
  options: EvaluateCliOptions,
  shard: ShardSpec,
  io: Io,
): Promise<{ written: number; records: number }> {
  const run = await runLocally(options, shard, io);
  return { written: run.written, records: run.records };
}

/** The local run of every batch, or of a shard's batches, in this process. */
async function runLocally(
  options: EvaluateCliOptions,
  shard: ShardSpec | undefined,
  io: Io,
): Promise<{ tables?: RunTables; written: number; records: number }> {
  const prepared = await prepareEvaluation(options, io, options.out);
  const { engine, items, identity, config } = prepared;
  let store: RunStore<EvaluateConfig> | undefined;
  try {
    const batches = shard ? shardBatches(items.length, config.batchSize, shard) : undefined;
    const evaluated = batches
      ? items.filter((_, p) => batches.has(Math.floor(p / config.batchSize)))
      : items;
    const opened = await RunStore.open(options.out, config, {
      dataset: { entries: identity, evaluate: new Set(evaluated.map((i) => i.id)) },
    });
    store = opened.store;
    await claimShard(options.out, shard, store.records().length);
    if (opened.droppedTornLine) {
      io.err.write("dropped the incomplete last record of an interrupted run; it is recomputed\n");
    }
    let progress: Progress | undefined;
    const summary = await runEvaluation<DatasetRecord>(prepared.ctx, items, store, {
      ...runOptionsOf(prepared),
      ...(batches ? { batches } : {}),
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
    const ids = new Set(evaluated.map((i) => i.id));
    const records = store.records().filter((r) => ids.has(r.image));
    if (shard) {
      await writeShardInfo(options.out, {
        version: 1,
        shard,
        finished: { items: items.length, failed: summary.failed },
      });
      if (records.length === 0 && summary.failed.length > 0) {
        io.err.write(`shard ${shardName(shard)}: no image could be read (above)\n`);
      }
      return { written: summary.written, records: records.length };
    }
    checkUsable(records, summary.failed.length, options.data);
    const tables = await writeRunOutputs(options.out, config, records, positionsOf(identity));
    return { tables, written: summary.written, records: records.length };
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
