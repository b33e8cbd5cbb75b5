import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EvalRecord } from "./records.ts";
import { buildTables, rowOf, tablesCsv } from "./tables.ts";

function record(image: string, method: string, deletion: number | null, ms: number): EvalRecord {
  return {
    image,
    file: `${image}.png`,
    method,
    class: 0,
    label: "circle",
    probability: 0.9,
    values: { deletion_auc: deletion, insertion_auc: deletion === null ? null : 1 - deletion },
    curves: deletion === null ? {} : { deletion: new Array<number>(33).fill(deletion) },
    cost: { milliseconds: ms, forward: 2, backward: method === "gradcam" ? 1 : 0 },
    notes: [],
  };
}

describe("buildTables", () => {
  const records = [
    record("a", "gradcam", 0.1, 4),
    record("b", "gradcam", 0.2, 6),
    record("c", "gradcam", 0.3, 8),
    record("a", "eigencam", 0.5, 10),
    record("b", "eigencam", null, 10),
    record("x", "other", 0.9, 1), // a method the run did not name: left out
  ];
  const tables = buildTables(records, ["gradcam", "eigencam"], ["deletion-insertion"]);

  test("means and t intervals per method and column, null values left out", () => {
    const g = rowOf(tables, "gradcam", "deletion_auc")!;
    assert.equal(g.n, 3);
    assert.ok(Math.abs(g.mean - 0.2) < 1e-12);
    // sd 0.1, t_{0.975,2} = 4.302652730, half width t * 0.1 / sqrt 3.
    const half = (4.30265273 * 0.1) / Math.sqrt(3);
    assert.ok(Math.abs(g.low - (0.2 - half)) < 1e-8 && Math.abs(g.high - (0.2 + half)) < 1e-8);
    const e = rowOf(tables, "eigencam", "insertion_auc")!;
    assert.equal(e.n, 1);
    assert.equal(e.mean, 0.5);
    assert.ok(Number.isNaN(e.low));
  });

  test("cost columns: wall time and passes per image", () => {
    assert.equal(rowOf(tables, "gradcam", "milliseconds")!.mean, 6);
    assert.equal(rowOf(tables, "gradcam", "backward_passes")!.mean, 1);
    assert.equal(rowOf(tables, "eigencam", "forward_passes")!.mean, 2);
    assert.equal(rowOf(tables, "eigencam", "milliseconds")!.sd, 0);
    assert.deepEqual(
      tables.columns.map((c) => c.name),
      ["deletion_auc", "insertion_auc", "milliseconds", "forward_passes", "backward_passes"],
    );
  });

  test("mean curves per method over the records that have them", () => {
    const deletion = tables.curves.find((c) => c.name === "deletion")!;
    assert.equal(deletion.x.length, 33);
    assert.equal(deletion.x[32], 1);
    assert.ok(deletion.methods.gradcam!.every((v) => Math.abs(v - 0.2) < 1e-12));
    assert.deepEqual(deletion.methods.eigencam, new Array<number>(33).fill(0.5));
    assert.deepEqual(tables.curves.find((c) => c.name === "insertion")!.methods.gradcam, []);
  });

  test("CSV: header, one line per method and column, empty cells for undefined values", () => {
    const lines = tablesCsv(tables).trimEnd().split("\n");
    assert.equal(lines[0], "method,metric,column,n,mean,sd,ci95_low,ci95_high");
    assert.equal(lines.length, 1 + 2 * 5);
    assert.equal(
      lines.find((l) => l.startsWith("eigencam,deletion-insertion,deletion_auc")),
      "eigencam,deletion-insertion,deletion_auc,1,0.5,,,",
    );
    assert.match(
      lines.find((l) => l.startsWith("gradcam,cost,milliseconds"))!,
      /^gradcam,cost,milliseconds,3,6,2,/,
    );
  });
});

describe("buildTables with the sanity metric", () => {
  const sanity = (image: string, spearman: (number | null)[]): EvalRecord => ({
    ...record(image, "gradcam", null, 1),
    values: {},
    curves: { sanity_spearman: spearman as number[] },
  });

  test("the curves' x are the run's cascade steps; points without a value leave the mean", () => {
    const tables = buildTables(
      [sanity("a", [0.9, 0.5, null]), sanity("b", [0.7, 0.1, null]), sanity("c", [0.8, null, 0])],
      ["gradcam"],
      ["sanity"],
      { curveX: { sanity: [1, 6, 12] } },
    );
    const curve = tables.curves.find((c) => c.name === "sanity_spearman")!;
    assert.deepEqual(curve.x, [1, 6, 12]);
    assert.equal(curve.xTitle, "layers randomised (from the top)");
    const mean = curve.methods.gradcam!;
    assert.ok(Math.abs(mean[0]! - 0.8) < 1e-12 && Math.abs(mean[1]! - 0.3) < 1e-12);
    assert.equal(mean[2], 0);
    // Without the steps the curve has no points to average.
    const open = buildTables([sanity("a", [0.9, 0.5, 0])], ["gradcam"], ["sanity"]);
    assert.deepEqual(open.curves.find((c) => c.name === "sanity_spearman")!.methods.gradcam, []);
  });
});
