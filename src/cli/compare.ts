// `camscope compare run1/ run2/`: two evaluation runs side by side (text on stdout; with --out,
// also compare.csv and a self-contained compare.html).
import { join } from "node:path";
import type { Command } from "commander";
import {
  compareRuns,
  comparisonCsv,
  comparisonText,
  renderComparison,
  type ComparedRun,
} from "../evaluate/compare.ts";
import { tableOptions, type EvaluateConfig } from "../evaluate/config.ts";
import { readRun } from "../evaluate/store.ts";
import { buildTables } from "../evaluate/tables.ts";
import { prepareOutputDir, writeOutputFile } from "../util/files.ts";
import type { Io } from "./io.ts";

export const COMPARE_CSV = "compare.csv";
export const COMPARE_HTML = "compare.html";

/** A run folder's tables, named after its model and folder. */
export async function loadComparedRun(dir: string): Promise<ComparedRun> {
  const { config, records } = await readRun<EvaluateConfig>(dir);
  return {
    name: `${config.model.name} (${dir})`,
    config,
    tables: buildTables(records, config.methods, config.metrics, tableOptions(config)),
  };
}

export function registerCompare(program: Command, io: Io): void {
  program
    .command("compare")
    .description("put two evaluation runs side by side (e.g. two models)")
    .argument("<run1>", "a camscope evaluate --out folder")
    .argument("<run2>", "another one")
    .option("-o, --out <dir>", "also write compare.csv and compare.html here")
    .action(async (run1: string, run2: string, options: { out?: string }) => {
      if (options.out !== undefined) await prepareOutputDir(options.out);
      const [a, b] = await Promise.all([loadComparedRun(run1), loadComparedRun(run2)]);
      const comparison = compareRuns(a, b);
      io.out.write(comparisonText(comparison));
      if (options.out !== undefined) {
        await writeOutputFile(join(options.out, COMPARE_CSV), comparisonCsv(comparison));
        await writeOutputFile(join(options.out, COMPARE_HTML), await renderComparison(a, b));
        io.out.write(`${join(options.out, COMPARE_CSV)}\n${join(options.out, COMPARE_HTML)}\n`);
      }
    });
}
