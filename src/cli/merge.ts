// `camscope merge run-*/ --out all/`: joins the run folders of a run's shards (camscope evaluate
// --shard i/N) into one run folder with the records, tables, Win% and report a single run writes.
import { join } from "node:path";
import type { Command } from "commander";
import { mergeShards } from "../evaluate/merge.ts";
import { outputFiles, writeRunOutputs } from "../evaluate/outputs.ts";
import { checkUsable } from "./evaluate-setup.ts";
import { textTable } from "./evaluate.ts";
import type { Io } from "./io.ts";

export function registerMerge(program: Command, io: Io): void {
  program
    .command("merge")
    .description(
      "join the run folders of camscope evaluate --shard i/N runs into one run folder, tables and report",
    )
    .argument("<shards...>", "the shards' run folders, all N of them")
    .requiredOption("-o, --out <dir>", "the merged run folder")
    .action(async (shards: string[], options: { out: string }) => {
      const merged = await mergeShards(shards, options.out);
      for (const f of merged.failed) io.err.write(`skipped ${f.image}: ${f.error}\n`);
      checkUsable(merged.records, merged.failed.length, merged.config.dataset.path);
      const tables = await writeRunOutputs(
        options.out,
        merged.config,
        merged.records,
        merged.positions,
      );
      io.err.write(
        `merged ${shards.length} shards: ${merged.records.length} records (${merged.written} new in ${options.out})\n`,
      );
      io.out.write(textTable(tables));
      for (const file of outputFiles(tables)) io.out.write(`${join(options.out, file)}\n`);
    });
}
