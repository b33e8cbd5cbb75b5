// `camscope evaluate` with a method of every family (Grad-CAM and Score-CAM, Integrated
// Gradients, LRP, Relevance-CAM) and every metric, on the bundled dataset's first image: the
// tables, report and `compare` show all five, signed maps are flagged per column, and a run killed
// with kill -9 resumes to exactly the records of an uninterrupted one.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { EvalRecord } from "../evaluate/records.ts";
import { readRun, RECORDS_FILE } from "../evaluate/store.ts";
import type { RunTables } from "../evaluate/tables.ts";
import { camscope } from "./testing/harness.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DATA = join(ROOT, "samples", "annotations.json");
const METHODS = ["gradcam", "scorecam", "ig", "lrp", "relevancecam"];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-evaluate-families-"));
});
after(() => rm(dir, { recursive: true, force: true }));

// One image (its records: one per method) keeps the three runs below to tens of seconds.
const args = (out: string) => [
  "evaluate",
  "--model",
  "synth-vgg",
  "--data",
  DATA,
  "--methods",
  METHODS.join(","),
  "--metrics",
  "all",
  "--limit",
  "1",
  "--sanity-steps",
  "1",
  "--examples",
  "1",
  "--out",
  out,
];

async function lineCount(path: string): Promise<number> {
  try {
    return (await readFile(path, "utf8")).split("\n").length - 1;
  } catch {
    return 0;
  }
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

describe("camscope evaluate with every method family", () => {
  const clean = () => join(dir, "clean");
  const killed = () => join(dir, "killed");

  test("CAM, pixel-attribution and LRP methods are scored with every metric, side by side", async () => {
    const run = await camscope(args(clean()));
    assert.equal(run.code, 0, run.stderr);
    const tables = JSON.parse(await readFile(join(clean(), "summary.json"), "utf8")) as RunTables;
    assert.deepEqual(tables.methods, METHODS);
    for (const method of METHODS) {
      for (const column of tables.columns) {
        const row = tables.rows.find((r) => r.method === method && r.column === column.name);
        assert.ok(row && row.n === 1, `${method} ${column.name}: ${JSON.stringify(row)}`);
        assert.ok(Number.isFinite(row.mean), `${method} ${column.name} = ${row.mean}`);
      }
    }
    // Every column that reads a map says how it reads a signed one; cost columns read none.
    for (const column of tables.columns) {
      assert.equal(column.signed === undefined, column.metric === "cost", column.name);
    }
    const report = await readFile(join(clean(), "report.html"), "utf8");
    assert.match(report, /Signed maps \(ig, lrp\) are read by each column/);
    for (const method of METHODS) assert.match(report, new RegExp(`<td>${method}</td>`));
  });

  test("after kill -9 a rerun resumes to the records of the uninterrupted run", async () => {
    const child = spawn(process.execPath, [join(ROOT, "bin", "camscope.js"), ...args(killed())], {
      stdio: "ignore",
    });
    const exited = new Promise<void>((done) => child.on("exit", () => done()));
    const path = join(killed(), RECORDS_FILE);
    // Killed once Integrated Gradients' record (the third) is stored, before LRP's.
    while ((await lineCount(path)) < 3 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGKILL");
    await exited;
    const stored = await lineCount(path);
    assert.ok(stored >= 3 && stored < METHODS.length, `killed after ${stored} records`);

    const resumed = await camscope(args(killed()));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      new RegExp(`resumed: ${stored} records were already stored, ${METHODS.length - stored} new`),
    );
    const a = (await readRun(killed())).records;
    const b = (await readRun(clean())).records;
    assert.equal(a.length, METHODS.length);
    assert.deepEqual(comparable(a), comparable(b));
  });

  test("compare shows all five methods of both runs", async () => {
    const run = await camscope(["compare", clean(), killed(), "--out", join(dir, "compare")]);
    assert.equal(run.code, 0, run.stderr);
    const csv = (await readFile(join(dir, "compare", "compare.csv"), "utf8")).trim().split("\n");
    const methods = new Set(csv.slice(1).map((line) => line.split(",")[0]));
    assert.deepEqual([...methods], METHODS);
  });
});
