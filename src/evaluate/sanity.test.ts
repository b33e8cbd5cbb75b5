import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chooseMethod, resolveMethodNames } from "../methods/registry.ts";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { resizeBilinear } from "../image/resize.ts";
import { spearman, ssim } from "../metrics/sanity.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { resolveMetrics } from "./metrics.ts";
import { runEvaluation } from "./runner.ts";
import { sanityScores, signedMaps, spreadSteps } from "./sanity.ts";
import { readRun, RunStore } from "./store.ts";
import { openModel } from "../io/models.ts";

describe("sanity steps and map comparison", () => {
  test("steps spread from the classifier alone to every layer", () => {
    assert.deepEqual(spreadSteps(12, 4), [1, 5, 8, 12]);
    assert.deepEqual(spreadSteps(12, 2), [1, 12]);
    assert.deepEqual(spreadSteps(12, 1), [12]);
    assert.deepEqual(spreadSteps(3, 5), [1, 2, 3]);
    assert.throws(() => spreadSteps(12, 0), CamscopeError);
  });

  test("signed maps: each layer upsampled and divided by its largest magnitude, layers averaged", () => {
    // Two rows of a 2 x 2 layer and one row-constant 1 x 1 layer, upsampled to 4 x 4.
    const a = { data: Float32Array.from([1, -2, 0, 4, 3, 3, 3, -6]), dims: [2, 2, 2] };
    const b = { data: Float32Array.from([5, -0.5]), dims: [2, 1, 1] };
    const out = signedMaps([a, b], 4, 4);
    const upA = resizeBilinear(a.data, 2, 2, 2, 4, 4);
    for (let r = 0; r < 2; r++) {
      const peak = [4, 6][r]!;
      const constant = [1, -1][r]!; // b's row divided by its own magnitude
      for (let p = 0; p < 16; p++) {
        const want = (upA[r * 16 + p]! / peak + constant) / 2;
        assert.ok(Math.abs(out[r * 16 + p]! - want) < 1e-6, `${r},${p}`);
      }
    }
  });

  test("scores: Spearman of the signed maps and of |.|, SSIM of the final maps, per row and step", () => {
    const [H, W] = [12, 12];
    const area = H * W;
    const raw = (values: (i: number) => number) => ({
      data: Float32Array.from({ length: 2 * area }, (_, i) => values(i)),
      dims: [2, H, W],
    });
    const wave = (i: number) => Math.sin(i * 0.37) + 0.1 * (i % 7);
    const final = (values: (i: number) => number) => raw((i) => Math.max(0, values(i)) / 2); // any map in [0, 1]
    const original = { raw: [raw(wave)], map: final(wave) };
    const same = { raw: [raw(wave)], map: final(wave) };
    const negated = { raw: [raw((i) => -wave(i))], map: final((i) => -wave(i)) };
    const scores = sanityScores(original, [same, negated]);
    for (let r = 0; r < 2; r++) {
      // Step 0 equals the original; step 1 reverses every rank but keeps the magnitudes.
      assert.ok(Math.abs(scores.spearman[r * 2]! - 1) < 1e-12);
      assert.ok(Math.abs(scores.ssim[r * 2]! - 1) < 1e-12);
      assert.ok(Math.abs(scores.spearman[r * 2 + 1]! + 1) < 1e-6);
      assert.ok(Math.abs(scores.absSpearman[r * 2 + 1]! - 1) < 1e-6);
      const row = (t: { data: Float32Array }) => t.data.subarray(r * area, (r + 1) * area);
      assert.ok(
        Math.abs(scores.ssim[r * 2 + 1]! - ssim(row(original.map), row(negated.map), H, W)) < 1e-6,
      );
    }
    // Against the library's spearman on the same signed maps, for unrelated maps.
    const other = { raw: [raw((i) => Math.cos(i * 1.3))], map: final((i) => Math.cos(i * 1.3)) };
    const [s] = [sanityScores(original, [other])];
    const a = signedMaps(original.raw, H, W).subarray(area, 2 * area);
    const b = signedMaps(other.raw, H, W).subarray(area, 2 * area);
    assert.ok(Math.abs(s.spearman[1]! - spearman(a, b)) < 1e-6);
    assert.ok(Math.abs(s.absSpearman[1]! - spearman(a.map(Math.abs), b.map(Math.abs))) < 1e-6);
  });
});

const SAMPLES = fileURLToPath(new URL("../../samples/", import.meta.url));

describe("the sanity metric on a bundled model", () => {
  let dir: string;
  let engine: Engine;
  let ctx: ModelRuntime;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "camscope-sanity-"));
    engine = new Engine({ threads: 1 });
    ctx = await openModel("synth-resnet", engine);
  });
  after(async () => {
    await engine.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test("no layer randomised: similarity 1; Grad-CAM decorrelates over the cascade; Eigen-CAM ignores the classifier", async () => {
    const { store } = await RunStore.open(dir, { test: "sanity" });
    // 0: an unchanged copy, opened as its own model; 1: the classifier; 12: every layer.
    const steps = [0, 1, 12];
    await runEvaluation(
      ctx,
      [
        { id: "star", file: join(SAMPLES, "star.png"), label: 3 },
        { id: "arrow", file: join(SAMPLES, "arrow.png"), label: 9 },
      ],
      store,
      {
        methods: resolveMethodNames(["gradcam", "eigencam"]).map((m) => chooseMethod(m)),
        metrics: resolveMetrics(["sanity"]),
        layers: ["auto"],
        target: "label",
        batchSize: 2,
        seed: 0,
        examples: 0,
        sanitySteps: steps,
      },
    );
    const { records } = await readRun(dir);
    assert.equal(records.length, 4);
    for (const r of records) {
      const curves = ["sanity_spearman", "sanity_abs_spearman", "sanity_ssim"];
      for (const c of curves) {
        assert.equal(r.curves[c]!.length, steps.length);
        assert.ok(Math.abs(r.curves[c]![0]! - 1) < 1e-9, `${r.method} ${c} step 0`);
      }
      assert.equal(r.values.sanity_spearman_last, r.curves.sanity_spearman![2]);
      const mean = r.curves.sanity_ssim!.reduce((a, b) => a + b, 0) / steps.length;
      assert.ok(Math.abs(r.values.sanity_ssim_mean! - mean) < 1e-6);
      if (r.method === "gradcam") {
        // Every layer re-initialised: the map has nothing left of the original.
        assert.ok(Math.abs(r.values.sanity_spearman_last!) < 0.5, `${r.image}`);
        assert.ok(r.values.sanity_ssim_last! < 0.5, `${r.image}`);
      } else {
        // Eigen-CAM reads only the activations, which the classifier does not change.
        for (const c of curves) assert.ok(Math.abs(r.curves[c]![1]! - 1) < 1e-9);
        assert.ok(r.values.sanity_spearman_last! < 0.9);
      }
    }
  });
});
