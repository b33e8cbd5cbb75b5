// `npm run bench:compare -- <before-dir> <after-dir> [--section cam --model synth-vgg --rounds 3]`:
// runs the same `npm run bench` sections of two checkouts (git worktrees of two revisions) in
// alternating rounds (before, after, before, after, ...), one process per section and model, and
// prints each measurement's median over the rounds for both, the ratio after/before and a flag.
//
// The machine may be shared, so one run of each is not a comparison: alternation spreads the
// other load over both revisions, and the per-revision range over the rounds (the spread) tells
// how far a ratio can move by chance. A row is flagged SLOWER only when after/before exceeds
// 1 + THRESHOLD + spread (the larger of the two revisions' relative ranges); a ratio above
// 1 + THRESHOLD that the spread can explain is flagged "slower?" so it is not hidden either.
//
// The bench tables are read by their column positions (the dashed line under the header gives
// each column's width), so the two revisions' formats may differ in columns and order. A section
// with no column this script knows how to turn into milliseconds per image is printed raw, both
// revisions' last rounds side by side, instead of being turned into numbers.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const THRESHOLD = 0.1;
const DEFAULT_SECTIONS = ["cam", "attribution", "lrp"];
const DEFAULT_MODELS = ["synth-vgg", "synth-resnet", "synth-mobilenet"];
const REVISIONS = ["before", "after"] as const;
type Revision = (typeof REVISIONS)[number];

interface ParsedTable {
  title: string;
  columns: string[];
  rows: string[][];
  lines: string[];
}

/** Splits `npm run bench` output into its `## title` sections and reads each table. */
function parseBenchOutput(text: string): ParsedTable[] {
  const tables: ParsedTable[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.*)$/.exec(lines[i]!);
    if (!heading) continue;
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === "") j++;
    const header = lines[j] ?? "";
    const rule = lines[j + 1] ?? "";
    const body: string[] = [];
    for (let k = j + 2; k < lines.length && lines[k]!.trim() !== ""; k++) body.push(lines[k]!);
    const table: ParsedTable = { title: heading[1]!, columns: [], rows: [], lines: body };
    if (/^-+( {2}-+)*$/.test(rule)) {
      // formatTable pads every cell to its column's width and joins cells with two spaces.
      const spans: [number, number][] = [];
      let at = 0;
      for (const dashes of rule.split("  ")) {
        spans.push([at, at + dashes.length]);
        at += dashes.length + 2;
      }
      const cut = (line: string): string[] => spans.map(([a, b]) => line.slice(a, b).trim());
      table.columns = cut(header);
      table.rows = body.map(cut);
    }
    tables.push(table);
  }
  return tables;
}

/** One measurement of a table row, in milliseconds per image. */
interface Measurement {
  key: string;
  model: string;
  method: string;
  batch: string;
  ms: number | undefined;
}

/**
 * The measurements a table holds: its `ms/image` column (cam, attribution, lrp), the forward
 * section's `ms/batch (median)` divided by the batch, or the backward section's columns ending in
 * ` ms` (per batch, divided by it). Undefined when it has none of those: printed raw then.
 */
function measurements(table: ParsedTable): Measurement[] | undefined {
  const col = (name: string): number => table.columns.indexOf(name);
  const model = col("model");
  const batch = col("batch");
  const method = col("method") >= 0 ? col("method") : col("composite");
  if (model < 0 || batch < 0) return undefined;
  const perBatch: [string, number][] = [];
  const perImage = col("ms/image");
  if (perImage < 0) {
    const forward = col("ms/batch (median)");
    if (forward >= 0) perBatch.push(["forward pass", forward]);
    table.columns.forEach((c, i) => {
      if (c.endsWith(" ms")) perBatch.push([c.slice(0, -3), i]);
    });
    if (perBatch.length === 0) return undefined;
  }
  const out: Measurement[] = [];
  for (const row of table.rows) {
    const b = row[batch]!;
    const number = (cell: string | undefined): number | undefined =>
      cell !== undefined && /^\d+(\.\d+)?$/.test(cell) ? Number(cell) : undefined;
    const entries: [string, number | undefined][] =
      perImage >= 0
        ? [[method >= 0 ? row[method]! : "", number(row[perImage])]]
        : perBatch.map(([name, i]) => {
            const v = number(row[i]);
            return [name, v === undefined ? undefined : v / Number(b)];
          });
    for (const [name, ms] of entries)
      out.push({
        key: `${row[model]}\t${name}\t${b}`,
        model: row[model]!,
        method: name,
        batch: b,
        ms,
      });
  }
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** (max - min) / median: how far one revision's rounds moved. */
function relativeRange(values: number[]): number {
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

function runBench(dir: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0
        ? done(out)
        : fail(new Error(`bench in ${dir} (${args.join(" ")}) exited ${code}:\n${err.trim()}`)),
    );
  });
}

function pad(cells: string[][], numeric: number[]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      section: { type: "string", multiple: true },
      model: { type: "string", multiple: true },
      rounds: { type: "string", default: "3" },
      reps: { type: "string" },
      warmup: { type: "string" },
      threads: { type: "string" },
    },
  });
  if (positionals.length !== 2)
    throw new Error("usage: npm run bench:compare -- <before-dir> <after-dir> [options]");
  const dirs: Record<Revision, string> = {
    before: resolve(positionals[0]!),
    after: resolve(positionals[1]!),
  };
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be an integer >= 1");
  const sections = values.section ?? DEFAULT_SECTIONS;
  const models = values.model ?? DEFAULT_MODELS;
  const passed: string[] = [];
  for (const flag of ["reps", "warmup", "threads"] as const) {
    const v = values[flag];
    if (v !== undefined) passed.push(`--${flag}`, v);
  }
  const logs = mkdtempSync(join(tmpdir(), "camscope-bench-compare-"));
  console.log(
    `bench:compare: before ${dirs.before}, after ${dirs.after}; ${rounds} alternating rounds; ` +
      `sections ${sections.join(", ")}; models ${models.join(", ")}; bench options ` +
      `${passed.join(" ") || "(defaults)"}; raw output and the table after each round in ${logs}`,
  );

  // samples[section][revision][key] = ms per image, one per round.
  const samples = new Map<string, Record<Revision, Map<string, number[]>>>();
  const order = new Map<string, Measurement>();
  const raw = new Map<string, string[]>();
  const unparsed = new Set<string>();
  const report = (): string => {
    const out: string[] = [];
    const header = [
      "section",
      "model",
      "method",
      "batch",
      "before ms",
      "after ms",
      "after/before",
      "spread",
      "flag",
    ];
    const rows: string[][] = [header];
    const flagged: string[] = [];
    for (const [id, m] of order) {
      const section = id.split("\t")[0]!;
      const b = samples.get(section)!.before.get(m.key) ?? [];
      const a = samples.get(section)!.after.get(m.key) ?? [];
      const cell = (v: number[]): string => (v.length ? median(v).toFixed(2) : "-");
      let ratio = "-";
      let spread = "-";
      let flag = "";
      if (b.length && a.length) {
        const r = median(a) / median(b);
        // One sample says nothing about the spread: such a row is at most "slower?".
        const s = b.length > 1 && a.length > 1 ? Math.max(relativeRange(b), relativeRange(a)) : NaN;
        ratio = r.toFixed(2);
        spread = Number.isNaN(s) ? "-" : `${(100 * s).toFixed(0)}%`;
        if (r > 1 + THRESHOLD + s) flag = "SLOWER";
        else if (r > 1 + THRESHOLD) flag = "slower?";
        if (flag)
          flagged.push(`${section} ${m.model} ${m.method} batch ${m.batch}: ${flag} x${ratio}`);
      } else if (b.length || a.length) {
        flag = b.length ? "after: no number" : "before: no number";
      } else flag = "no number in either";
      if (b.length !== a.length && b.length && a.length)
        flag += ` (rounds ${b.length}/${a.length})`;
      rows.push([section, m.model, m.method, m.batch, cell(b), cell(a), ratio, spread, flag]);
    }
    out.push(
      `\nms per image, median over the rounds; spread = the larger (max - min) / median of the two; ` +
        `SLOWER = after/before > ${1 + THRESHOLD} + spread, slower? = > ${1 + THRESHOLD} within spread\n`,
    );
    out.push(pad(rows, [3, 4, 5, 6, 7]));
    for (const section of unparsed) {
      out.push(`\n${section}: no ms/image column to compare; latest round raw, before | after`);
      for (const model of models) {
        const before = raw.get(`${section}\t${model}\tbefore`) ?? [];
        const after = raw.get(`${section}\t${model}\tafter`) ?? [];
        const width = Math.max(6, ...before.map((l) => l.length));
        out.push("");
        for (let i = 0; i < Math.max(before.length, after.length); i++)
          out.push(`${(before[i] ?? "").padEnd(width)} | ${after[i] ?? ""}`);
      }
    }
    out.push(
      flagged.length ? `\nflagged:\n${flagged.join("\n")}` : "\nno row slower than 1.1x the before",
    );
    return out.join("\n");
  };
  for (let round = 1; round <= rounds; round++) {
    for (const section of sections) {
      for (const model of models) {
        for (const revision of REVISIONS) {
          const args = ["--section", section, "--model", model, ...passed];
          const start = performance.now();
          const out = await runBench(dirs[revision], args);
          const seconds = ((performance.now() - start) / 1000).toFixed(0);
          console.log(`round ${round}: ${section} ${model} ${revision} (${seconds} s)`);
          writeFileSync(join(logs, `${section}-${model}-${revision}-${round}.txt`), out);
          const tables = parseBenchOutput(out);
          let bySection = samples.get(section);
          if (!bySection) {
            bySection = { before: new Map(), after: new Map() };
            samples.set(section, bySection);
          }
          // The latest round's tables, shown raw if a section has nothing to compare.
          const shown: string[] = [];
          raw.set(`${section}\t${model}\t${revision}`, shown);
          for (const table of tables) {
            shown.push(`## ${table.title}`, ...table.lines);
            const found = measurements(table);
            if (!found) {
              unparsed.add(section);
              continue;
            }
            for (const m of found) {
              if (!order.has(`${section}\t${m.key}`)) order.set(`${section}\t${m.key}`, m);
              if (m.ms === undefined) continue;
              const list = bySection[revision].get(m.key) ?? [];
              list.push(m.ms);
              bySection[revision].set(m.key, list);
            }
          }
        }
      }
    }
    // A run cut short still leaves the comparison of the rounds it finished.
    writeFileSync(join(logs, `table-after-round-${round}.txt`), report() + "\n");
  }
  console.log(report());
}

await main();
