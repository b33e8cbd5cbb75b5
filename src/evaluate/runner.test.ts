import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Explainer } from "../explain/explainer.ts";
import { chooseMethod, resolveMethodNames } from "../methods/registry.ts";
import { Engine } from "../engine/engine.ts";
import { decodeImage } from "../io/images.ts";
import { preprocess } from "../image/preprocess.ts";
import { deletionInsertion, modelProbability } from "../metrics/deletion-insertion.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { resolveMetrics, type EvalMetric } from "./metrics.ts";
import { runEvaluation, type EvalItem } from "./runner.ts";
import { readRun, RunStore } from "./store.ts";
import { openModel } from "../io/models.ts";

const SAMPLES = fileURLToPath(new URL("../../samples/", import.meta.url));
// Sample images with their labels (samples/annotations.json): star 3, arrow 9, ring 5.
const items: EvalItem[] = [
  { id: "star", file: join(SAMPLES, "star.png"), label: 3 },
  { id: "arrow", file: join(SAMPLES, "arrow.png"), label: 9 },
  { id: "ring", file: join(SAMPLES, "ring.png") },
];

let dir: string;
let engine: Engine;
let ctx: ModelRuntime;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-runner-"));
  engine = new Engine({ threads: 1 });
  ctx = await openModel("synth-resnet", engine);
});
after(async () => {
  await engine.dispose();
  await rm(dir, { recursive: true, force: true });
});

// A region metric whose answer is known: the probability of the row's class on the unperturbed
// image, via the score function (checks the renumbering of rows for subsets), and the mask area.
const probe: EvalMetric = {
  name: "probe",
  title: "Probe",
  needs: "regions",
  columns: [
    { name: "probe_probability", title: "p", better: "higher" },
    { name: "probe_area", title: "area", better: "higher" },
  ],
  curves: [],
  async compute(batch) {
    const n = batch.classes.length;
    const p = await batch.score(
      batch.images.data,
      n,
      Int32Array.from({ length: n }, (_, i) => i),
    );
    const area = Float32Array.from(batch.regions, (r) => r.mask!.reduce((a, b) => a + b, 0));
    return { values: { probe_probability: p, probe_area: area } };
  },
};

describe("runEvaluation", () => {
  test("records every (image, method) with metric values equal to a direct computation, and costs", async () => {
    const out = join(dir, "direct");
    const { store } = await RunStore.open(out, { test: 1 });
    const methods = resolveMethodNames(["gradcam", "scorecam"]).map((m) => chooseMethod(m));
    const progress: number[] = [];
    const summary = await runEvaluation(ctx, items, store, {
      methods,
      metrics: resolveMetrics(["deletion-insertion"]),
      layers: ["auto"],
      target: "label",
      batchSize: 2,
      seed: 0,
      examples: 2,
      onProgress: (done) => progress.push(done),
    });
    assert.deepEqual(summary, { written: 6, resumed: 0, failed: [], flagged: [] });
    // Two batches ([star, arrow], [ring]) x two methods, stored in that order.
    assert.deepEqual(progress, [0, 2, 4, 5, 6]);
    const { records } = await readRun(out);
    assert.deepEqual(
      records.map((r) => `${r.image}/${r.method}`),
      [
        "star/gradcam",
        "arrow/gradcam",
        "star/scorecam",
        "arrow/scorecam",
        "ring/gradcam",
        "ring/scorecam",
      ],
    );

    // Independently: the ring (no label) is explained for its top-1 class, and the values are
    // what deletionInsertion gives on the explainer's maps of the same batch.
    const explainer = new Explainer(ctx);
    const pre = preprocess([await decodeImage(items[2]!.file)], ctx.card.preprocessing);
    const tensor = { data: pre.tensor, dims: pre.dims };
    const explanation = await explainer.explain(tensor, { methods: [methods[0]!] });
    const ring = records.find((r) => r.image === "ring" && r.method === "gradcam")!;
    assert.equal(ring.class, explanation.targets.classes[0]);
    assert.equal(ring.label, ctx.label(ring.class));
    const direct = await deletionInsertion(
      tensor,
      explanation.results[0]!.map.data,
      modelProbability(ctx, explanation.targets.classes),
      { steps: 32 },
    );
    assert.ok(Math.abs(ring.values.deletion_auc! - direct.deletion[0]!) < 1e-6);
    assert.ok(Math.abs(ring.values.insertion_auc! - direct.insertion[0]!) < 1e-6);
    assert.equal(ring.curves.deletion!.length, 33);
    assert.ok(Math.abs(ring.curves.insertion![32]! - ring.probability) < 1e-5);

    const star = records.find((r) => r.image === "star" && r.method === "scorecam")!;
    assert.equal(star.class, 3);
    // Costs: target pass + activation run (+ backward for gradients) + one pass per channel
    // (96 at synth-resnet's default layer) for Score-CAM.
    assert.deepEqual([ring.cost.forward, ring.cost.backward], [2, 1]);
    assert.deepEqual([star.cost.forward, star.cost.backward], [2 + 96, 0]);
    assert.ok(star.cost.milliseconds > 0);
    // Examples for the first two dataset positions only.
    assert.equal(star.example, "examples/scorecam/0.png");
    assert.equal(records.find((r) => r.image === "arrow")!.example, "examples/gradcam/1.png");
    assert.equal(ring.example, undefined);

    // Run again: nothing left to do, nothing written twice.
    await store.close();
    const again = await RunStore.open(out, { test: 1 });
    const second = await runEvaluation(ctx, items, again.store, {
      methods,
      metrics: resolveMetrics(["deletion-insertion"]),
      layers: ["auto"],
      target: "label",
      batchSize: 2,
      seed: 0,
      examples: 2,
    });
    assert.deepEqual(second, { written: 0, resumed: 6, failed: [], flagged: [] });
    assert.equal((await readRun(out)).records.length, 6);
  });

  test("region metrics see only images with regions; the others get null and a note", async () => {
    const out = join(dir, "regions");
    const { store } = await RunStore.open(out, { test: 2 });
    const regions = new Map([["arrow", new Uint8Array(224 * 224).fill(1, 0, 100)]]);
    const failing = { id: "missing", file: join(dir, "nope.png"), label: 1 };
    const logs: string[] = [];
    const summary = await runEvaluation(ctx, [items[0]!, failing, items[1]!], store, {
      methods: resolveMethodNames(["gradcam"]).map((m) => chooseMethod(m)),
      metrics: [probe],
      layers: ["auto"],
      target: "top1",
      batchSize: 3,
      seed: 0,
      examples: 0,
      regions: async (item) => {
        const mask = regions.get(item.id);
        return mask ? { boxes: [], mask } : undefined;
      },
      log: (m) => logs.push(m),
    });
    assert.equal(summary.written, 2);
    assert.equal(summary.failed.length, 1);
    assert.equal(summary.failed[0]!.image, "missing");
    assert.match(logs[0]!, /^skipped missing: /);
    const { records } = await readRun(out);
    const star = records.find((r) => r.image === "star")!;
    const arrow = records.find((r) => r.image === "arrow")!;
    assert.deepEqual(star.values, { probe_probability: null, probe_area: null });
    assert.deepEqual(star.notes, ["probe: skipped, the image has no boxes or mask"]);
    assert.equal(arrow.values.probe_area, 100);
    assert.ok(Math.abs(arrow.values.probe_probability! - arrow.probability) < 1e-6);
  });
});
