import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { EvalRecord } from "../evaluate/records.ts";
import { readRun, RECORDS_FILE } from "../evaluate/store.ts";
import { winPercent } from "../metrics/average-drop.ts";
import type { EvaluateConfig } from "../evaluate/config.ts";
import type { RunTables } from "../evaluate/tables.ts";
import { camscope } from "./testing/harness.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DATA = join(ROOT, "samples", "annotations.json");
const METHODS = ["gradcam", "scorecam", "eigencam"];
// The first 4 of the 7 records (heart-and-square has two objects) x 3 methods: all metrics on
// more would make this the slowest test file.
const LIMIT = 4;
const TOTAL = LIMIT * 3;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-evaluate-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const args = (out: string, extra: string[] = []) => [
  "evaluate",
  "--model",
  "synth-resnet",
  "--data",
  DATA,
  "--methods",
  METHODS.join(","),
  "--metrics",
  "all",
  "--batch-size",
  "1",
  "--threads",
  "1",
  "--examples",
  "3",
  // The sanity metric costs one explain call per step: the classifier alone and every layer.
  "--sanity-steps",
  "2",
  "--limit",
  String(LIMIT),
  "--out",
  out,
  ...extra,
];

async function lineCount(path: string): Promise<number> {
  try {
    return (await readFile(path, "utf8")).split("\n").length - 1;
  } catch {
    return 0;
  }
}

/** Starts the CLI as a child process and SIGKILLs it once `atLeast` records are stored. */
async function killMidway(out: string, atLeast: number): Promise<number> {
  const child = spawn(process.execPath, [join(ROOT, "bin", "camscope.js"), ...args(out)], {
    stdio: "ignore",
  });
  const exited = new Promise<void>((done) => child.on("exit", () => done()));
  const path = join(out, RECORDS_FILE);
  for (;;) {
    if ((await lineCount(path)) >= atLeast || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill("SIGKILL");
  await exited;
  return lineCount(path);
}

/** A win row's sd and interval as CSV cells (empty where undefined). */
function csvCells(r: { sd: number; low: number; high: number }): string {
  return [r.sd, r.low, r.high].map((v) => (Number.isFinite(v) ? String(v) : "")).join(",");
}

/** Records by (image, method), with the wall time (which differs between runs) left out. */
function comparable(records: readonly EvalRecord[]): Map<string, unknown> {
  const byKey = new Map<string, unknown>();
  for (const r of records) {
    const key = `${r.image}/${r.method}`;
    assert.ok(!byKey.has(key), `duplicate record ${key}`);
    byKey.set(key, { ...r, cost: { ...r.cost, milliseconds: 0 } });
  }
  return byKey;
}

describe("camscope evaluate", () => {
  const killed = () => join(dir, "killed");
  const clean = () => join(dir, "clean");

  test("after kill -9 (and a torn last line) a rerun resumes: nothing lost, nothing duplicated, equal to an uninterrupted run", async () => {
    const stored = await killMidway(killed(), 3);
    assert.ok(stored >= 3 && stored < TOTAL, `killed after ${stored} of ${TOTAL} records`);
    // A write cut short by the kill: half a record without its newline.
    await appendFile(join(killed(), RECORDS_FILE), '{"image":"9:3","file":"/x","meth');

    const resumed = await camscope(args(killed()));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /dropped the incomplete last record of an interrupted run/);
    assert.match(
      resumed.stderr,
      new RegExp(`resumed: ${stored} records were already stored, ${TOTAL - stored} new`),
    );

    const uninterrupted = await camscope(args(clean()));
    assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
    assert.match(uninterrupted.stderr, new RegExp(`\\[#+\\] ${TOTAL}/${TOTAL} records 100% `));

    const a = (await readRun(killed())).records;
    const b = (await readRun(clean())).records;
    assert.equal(a.length, TOTAL);
    assert.deepEqual(comparable(a), comparable(b));
    const keys = new Set(a.map((r) => `${r.image}/${r.method}`));
    assert.equal(keys.size, TOTAL);
  });

  test("a rerun with a changed configuration is refused and the results are kept", async () => {
    const before = await readFile(join(clean(), RECORDS_FILE), "utf8");
    const run = await camscope(args(clean(), ["--seed", "1"]));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /holds results of a different configuration \(seed: 0 -> 1\)/);
    assert.match(run.stderr, /\nuse a new --out folder, or delete ".*" to start over\n$/);
    assert.equal(await readFile(join(clean(), RECORDS_FILE), "utf8"), before);
  });

  test("tables: CSV and JSON rows per method and column, means equal to the records' means", async () => {
    const tables = JSON.parse(await readFile(join(clean(), "summary.json"), "utf8")) as RunTables;
    assert.deepEqual(tables.methods, METHODS);
    const { records } = await readRun(clean());
    for (const method of METHODS) {
      const values = records.filter((r) => r.method === method).map((r) => r.values.deletion_auc!);
      const row = tables.rows.find((r) => r.method === method && r.column === "deletion_auc")!;
      assert.equal(row.n, LIMIT);
      assert.ok(Math.abs(row.mean - values.reduce((s, v) => s + v, 0) / LIMIT) < 1e-12);
      assert.ok(row.low < row.mean && row.mean < row.high);
    }
    const scorecam = tables.rows.find(
      (r) => r.method === "scorecam" && r.column === "forward_passes",
    )!;
    assert.equal(scorecam.mean, 2 + 96);
    const csv = (await readFile(join(clean(), "summary.csv"), "utf8")).trimEnd().split("\n");
    assert.equal(csv.length, 1 + METHODS.length * tables.columns.length);
    // Win% of each method over each other, from the records' explained probabilities.
    const wins = (await readFile(join(clean(), "wins.csv"), "utf8")).trimEnd().split("\n");
    assert.equal(wins.length, 1 + METHODS.length * (METHODS.length - 1));
    const explained = (m: string) =>
      Float32Array.from(
        records.filter((r) => r.method === m),
        (r) => r.values.explained_probability!,
      );
    const gs = tables.wins!.find((w) => w.method === "gradcam" && w.versus === "scorecam")!;
    assert.equal(gs.n, LIMIT);
    assert.ok(Math.abs(gs.mean - winPercent(explained("gradcam"), explained("scorecam"))) < 1e-9);
    assert.ok(wins.includes(`gradcam,scorecam,${LIMIT},${gs.mean},${csvCells(gs)},${gs.ties}`));
    // Timings are recorded (after an untimed warm-up run) and positive.
    for (const r of records) assert.ok(r.cost.milliseconds > 0, `${r.image}/${r.method}`);
  });

  test("sanity (in all): steps from the classifier alone to every layer, curves over the steps", async () => {
    const { config, records } = await readRun<EvaluateConfig>(clean());
    // synth-resnet has 12 parameterised layers (11 Conv, 1 Gemm).
    assert.deepEqual(config.sanity, { steps: [1, 12], layers: 12 });
    const tables = JSON.parse(await readFile(join(clean(), "summary.json"), "utf8")) as RunTables;
    const curve = tables.curves.find((c) => c.name === "sanity_spearman")!;
    assert.deepEqual(curve.x, [1, 12]);
    for (const r of records) {
      for (const c of ["sanity_spearman", "sanity_abs_spearman", "sanity_ssim"]) {
        assert.equal(r.curves[c]!.length, 2, `${r.image}/${r.method} ${c}`);
      }
      assert.equal(r.values.sanity_ssim_last, r.curves.sanity_ssim![1]);
      // Every layer random: no map survives (Eigen-CAM keeps its map while only the classifier is).
      assert.ok(r.curves.sanity_ssim![1]! < 0.9, `${r.image}/${r.method}`);
    }
    for (const m of METHODS) {
      const row = tables.rows.find((r) => r.method === m && r.column === "sanity_spearman_last")!;
      assert.equal(row.n, LIMIT);
    }
  });

  test("the HTML report is self-contained: inline Chart.js, charts for every curve and column, example grids", async () => {
    const html = await readFile(join(clean(), "report.html"), "utf8");
    assert.equal(html.match(/<html[ >]/g)?.length, 1);
    assert.ok(html.trimEnd().endsWith("</html>"));
    // Offline: nothing loaded from elsewhere.
    assert.doesNotMatch(html, /<script[^>]*\ssrc=/i);
    assert.doesNotMatch(html, /<link[^>]*>/i);
    assert.doesNotMatch(html, /\s(src|href)="(https?:)?\/\//i);
    assert.match(html, /Chart\.js v4/);
    assert.match(html, /<h2>Win%<\/h2>/);
    assert.equal(html.match(/<script/g)?.length, html.match(/<\/script>/g)?.length);
    const charts = JSON.parse(
      /<script type="application\/json" id="charts">(.*?)<\/script>/s.exec(html)![1]!,
    ) as { canvas: string; type: string; datasets: unknown[] }[];
    const tables = JSON.parse(await readFile(join(clean(), "summary.json"), "utf8")) as RunTables;
    assert.equal(charts.filter((c) => c.type === "line").length, tables.curves.length);
    assert.equal(charts.filter((c) => c.type === "bar").length, tables.columns.length);
    for (const c of charts) assert.match(html, new RegExp(`<canvas id="${c.canvas}"`));
    const deletion = charts.find((c) => c.type === "line")!;
    assert.equal(deletion.datasets.length, METHODS.length);
    const grids = [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)];
    assert.equal(grids.length, METHODS.length);
    for (const [, b64] of grids) {
      const meta = await sharp(Buffer.from(b64!, "base64")).metadata();
      assert.equal(meta.format, "png");
    }
  });

  test("compare: a run against an equal one differs by 0 in every metric; the page is offline", async () => {
    const out = join(dir, "compare");
    const run = await camscope(["compare", killed(), clean(), "--out", out]);
    assert.equal(run.code, 0, run.stderr);
    const tables = JSON.parse(await readFile(join(clean(), "summary.json"), "utf8")) as RunTables;
    const columns = tables.columns.length;
    const lines = run.stdout.split("\n").filter((l) => /^(gradcam|scorecam|eigencam) /.test(l));
    // Then Win% of every ordered pair of methods.
    const pairs = METHODS.length * (METHODS.length - 1);
    assert.equal(lines.length, METHODS.length * columns + pairs);
    const wins = lines.filter((l) => / win_vs_/.test(l));
    assert.equal(wins.length, pairs);
    for (const l of wins) assert.match(l, / 0$/);
    const rows = lines.filter((l) => !/ win_vs_/.test(l));
    const metricRows = rows.filter(
      (l) => !/ (milliseconds|forward_passes|backward_passes) /.test(l),
    );
    assert.equal(metricRows.length, METHODS.length * (columns - 3));
    // Equal values, or "-" where both runs have none.
    for (const l of metricRows) assert.match(l, / (0|-)$/);
    const html = await readFile(join(out, "compare.html"), "utf8");
    assert.doesNotMatch(html, /<script[^>]*\ssrc=/i);
    assert.match(html, /Chart\.js v4/);
    assert.match(html, /<h2>Win%<\/h2>/);
    const csv = (await readFile(join(out, "compare.csv"), "utf8")).trimEnd().split("\n");
    assert.equal(csv.length, 1 + METHODS.length * columns + pairs);
  });

  test("--limit evaluates the first images, and a larger --limit extends the same run", async () => {
    const out = join(dir, "limit");
    const small = await camscope(
      [...args(out, ["--limit", "1"])].map((a) => (a === METHODS.join(",") ? "gradcam" : a)),
    );
    assert.equal(small.code, 0, small.stderr);
    assert.equal((await readRun(out)).records.length, 1);
    const larger = await camscope(
      [...args(out, ["--limit", "3"])].map((a) => (a === METHODS.join(",") ? "gradcam" : a)),
    );
    assert.equal(larger.code, 0, larger.stderr);
    assert.match(larger.stderr, /resumed: 1 records were already stored, 2 new/);
    const { records } = await readRun(out);
    assert.deepEqual(
      records.map((r) => r.image),
      (await readRun(clean())).records
        .filter((r) => r.method === "gradcam")
        .slice(0, 3)
        .map((r) => r.image),
    );
  });
});
