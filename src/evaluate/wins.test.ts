import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { winPercent } from "../metrics/average-drop.ts";
import { compareRuns, comparisonCsv } from "./compare.ts";
import type { EvaluateConfig } from "./config.ts";
import type { EvalRecord } from "./records.ts";
import { winMatrix } from "./report.ts";
import { buildTables } from "./tables.ts";
import { winsCsv, winTable } from "./wins.ts";

function record(image: string, method: string, explained: number | null): EvalRecord {
  return {
    image,
    file: `${image}.png`,
    method,
    class: 0,
    label: "circle",
    probability: 0.9,
    values: { explained_probability: explained },
    curves: {},
    cost: { milliseconds: 1, forward: 2, backward: 0 },
    notes: [],
  };
}

// Explained probabilities per image: gradcam beats scorecam on a and c, ties on b, loses on d;
// eigencam has no value on d and no record for e.
const table: Record<string, [number | null, number | null, number | null]> = {
  a: [0.9, 0.5, 0.1],
  b: [0.4, 0.4, 0.6],
  c: [0.7, 0.2, 0.8],
  d: [0.1, 0.3, null],
  e: [0.5, 0.6, null],
};
const methods = ["gradcam", "scorecam", "eigencam"];
const records = Object.entries(table).flatMap(([image, values]) =>
  values.flatMap((v, k) => (image === "e" && k === 2 ? [] : [record(image, methods[k]!, v)])),
);

describe("Win%", () => {
  const rows = winTable(records, methods);
  const row = (m: string, v: string) => rows.find((r) => r.method === m && r.versus === v)!;

  test("every ordered pair over the images both have: wins strictly, ties for neither", () => {
    assert.equal(rows.length, 6);
    const gs = row("gradcam", "scorecam");
    assert.deepEqual([gs.n, gs.mean, gs.ties], [5, 40, 1]); // a, c of a..e
    assert.equal(row("scorecam", "gradcam").mean, 40); // d, e
    const ge = row("gradcam", "eigencam");
    assert.deepEqual([ge.n, ge.mean, ge.ties], [3, (100 * 1) / 3, 0]); // a of a, b, c
    assert.equal(row("eigencam", "gradcam").mean, (100 * 2) / 3);
    // The same as winPercent on the paired scores, with a t interval of the 0/100 indicators.
    const a = Float32Array.from(["a", "b", "c", "d", "e"], (i) => table[i]![0]!);
    const b = Float32Array.from(["a", "b", "c", "d", "e"], (i) => table[i]![1]!);
    assert.ok(Math.abs(gs.mean - winPercent(a, b)) < 1e-12);
    // Indicators 100, 0, 100, 0, 0: sd = sqrt(3000 / 4 ... ) = 54.77; t_{0.975,4} = 2.776445.
    const sd = Math.sqrt((2 * 60 ** 2 + 3 * 40 ** 2) / 4);
    assert.ok(Math.abs(gs.sd - sd) < 1e-9);
    assert.ok(Math.abs(gs.high - (40 + (2.776445105 * sd) / Math.sqrt(5))) < 1e-6);
  });

  test("tables carry them with average-drop only; CSV and the report's matrix", () => {
    assert.equal(buildTables(records, methods, ["complexity"]).wins, undefined);
    const tables = buildTables(records, methods, ["average-drop"]);
    assert.deepEqual(tables.wins, rows);
    const csv = winsCsv(rows).trimEnd().split("\n");
    assert.equal(csv[0], "method,versus,n,win_percent,sd,ci95_low,ci95_high,ties");
    assert.equal(csv.length, 7);
    assert.match(
      csv.find((l) => l.startsWith("gradcam,scorecam,"))!,
      /^gradcam,scorecam,5,40,/,
    );
    assert.match(csv[1]!, /,1$/);
    const html = winMatrix(tables);
    // A row per method with a cell per method, the diagonal empty.
    assert.equal(html.match(/<tr><td>/g)?.length, 3);
    assert.equal(html.match(/<td title="/g)?.length, 6);
    assert.match(html, /<td title="5 images, 1 ties">40 /);
    assert.equal(winMatrix(buildTables(records, methods, ["complexity"])), "");
  });

  test("compare: both runs' Win% per pair and the difference", () => {
    const config = {} as EvaluateConfig;
    const better = records.map((r) =>
      r.method === "scorecam" && r.image === "a" ? record("a", "scorecam", 0.95) : r,
    );
    const c = compareRuns(
      { name: "a", config, tables: buildTables(records, methods, ["average-drop"]) },
      { name: "b", config, tables: buildTables(better, methods, ["average-drop"]) },
    );
    assert.equal(c.wins.length, 6);
    const sg = c.wins.find((w) => w.method === "scorecam" && w.column === "win_vs_gradcam")!;
    assert.deepEqual([sg.a!.mean, sg.b!.mean, sg.difference], [40, 60, 20]);
    const csv = comparisonCsv(c).trimEnd().split("\n");
    assert.ok(csv.some((l) => l.startsWith("scorecam,win_vs_gradcam,5,40,")));
  });
});
