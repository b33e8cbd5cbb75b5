// What a finished run writes beside its records: tables (JSON, CSV, Win% CSV) and the HTML report.
// A local run, a merge of shards and a queue's coordinator all write them here, from the records
// in run order (./shards.ts runOrder), so equal records give equal files.
import { join } from "node:path";
import { writeOutputFile } from "../util/files.ts";
import { tableOptions, type EvaluateConfig } from "./config.ts";
import type { EvalRecord } from "./records.ts";
import { renderReport } from "./report.ts";
import { runOrder } from "./shards.ts";
import { buildTables, tablesCsv, type RunTables } from "./tables.ts";
import { winsCsv } from "./wins.ts";

export const TABLE_JSON = "summary.json";
export const TABLE_CSV = "summary.csv";
export const REPORT_HTML = "report.html";
export const WINS_CSV = "wins.csv";

/**
 * Tables and report of `records` (the run's images only) into the run folder `dir`, whose
 * examples/ holds the overlays the records name. `positions`: each image id's dataset position.
 */
export async function writeRunOutputs(
  dir: string,
  config: EvaluateConfig,
  records: readonly EvalRecord[],
  positions: ReadonlyMap<string, number>,
): Promise<RunTables> {
  const ordered = runOrder(records, positions, config.methods, config.batchSize);
  const tables = buildTables(ordered, config.methods, config.metrics, tableOptions(config));
  const out = (file: string) => join(dir, file);
  await writeOutputFile(out(TABLE_JSON), `${JSON.stringify(tables, null, 2)}\n`);
  await writeOutputFile(out(TABLE_CSV), tablesCsv(tables));
  if (tables.wins) await writeOutputFile(out(WINS_CSV), winsCsv(tables.wins));
  await writeOutputFile(out(REPORT_HTML), await renderReport(dir, config, tables, ordered));
  return tables;
}

/** The files writeRunOutputs wrote for `tables`, in the order the CLI lists them. */
export function outputFiles(tables: RunTables): string[] {
  return [TABLE_CSV, ...(tables.wins ? [WINS_CSV] : []), TABLE_JSON, REPORT_HTML];
}
