import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CamscopeError } from "../errors.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import { EVAL_METRICS, resolveMetrics, type MetricBatch } from "./metrics.ts";

// A 2-image batch of 1 x 8 x 8 inputs. The score of an input is the mean of its pixels (so
// multiplying by an all-ones map changes nothing), whatever the class.
const H = 8;
const W = 8;
const area = H * W;
const images = { data: new Float32Array(2 * area).fill(0.5), dims: [2, 1, H, W] };
const score: MetricBatch["score"] = (inputs, count) =>
  Promise.resolve(
    Float32Array.from({ length: count }, (_, j) => {
      let s = 0;
      for (let p = 0; p < area; p++) s += inputs[j * area + p]!;
      return s / area;
    }),
  );
// Image 0's object: the 4 x 4 square at (2..5, 2..5); image 1's: the top-left 2 x 2.
function square(x0: number, y0: number, size: number): Uint8Array {
  const m = new Uint8Array(area);
  for (let y = y0; y < y0 + size; y++) m.fill(1, y * W + x0, y * W + x0 + size);
  return m;
}
const masks = [square(2, 2, 4), square(0, 0, 2)];

function batch(maps: Float32Array): MetricBatch {
  return {
    ctx: {} as ModelRuntime,
    images,
    maps: { data: maps, dims: [2, H, W] },
    raw: [],
    classes: [0, 0],
    score,
    regions: masks.map((mask) => ({ boxes: [], mask })),
    seed: 0,
    batchSize: 4,
  };
}

const metric = (name: string) => resolveMetrics([name])[0]!;

describe("evaluation metric adapters", () => {
  test("maps equal to the masks: pointing hit, all energy inside, IoU 1, localized", async () => {
    const maps = new Float32Array(2 * area);
    maps.set(masks[0]!, 0);
    maps.set(masks[1]!, area);
    const pointing = await metric("pointing").compute(batch(maps));
    assert.deepEqual([...pointing.values.pointing!], [1, 1]);
    assert.deepEqual([...pointing.values.energy_pointing!], [1, 1]);
    const iou = await metric("iou").compute(batch(maps));
    assert.deepEqual([...iou.values.box_iou!], [1, 1]);
    assert.deepEqual([...iou.values.localization!], [1, 1]);
    assert.deepEqual([...iou.values.mask_iou!], [1, 1]);
  });

  test("a uniform map: Gini 0, entropy ln(H W); IoU of the whole image with a 4 x 4 object", async () => {
    const maps = new Float32Array(2 * area).fill(1);
    const c = await metric("complexity").compute(batch(maps));
    assert.deepEqual([...c.values.sparseness!], [0, 0]);
    for (const v of c.values.complexity!) assert.ok(Math.abs(v - Math.log(area)) < 1e-5);
    const iou = await metric("iou").compute(batch(maps));
    assert.ok(Math.abs(iou.values.box_iou![0]! - 16 / 64) < 1e-7);
    assert.deepEqual([...iou.values.localization!], [0, 0]);
  });

  test("average drop of the all-ones map is 0 with no increase; a half map halves the score", async () => {
    const ones = await metric("average-drop").compute(batch(new Float32Array(2 * area).fill(1)));
    assert.deepEqual([...ones.values.average_drop!], [0, 0]);
    assert.deepEqual([...ones.values.increase_in_confidence!], [0, 0]);
    const half = await metric("average-drop").compute(batch(new Float32Array(2 * area).fill(0.5)));
    assert.deepEqual([...half.values.average_drop!], [50, 50]);
    assert.deepEqual([...half.values.explained_probability!], [0.25, 0.25]);
  });

  test("average drop through a hard mask of the top 50% (Relevance-CAM's protocol)", async () => {
    // The all-ones map drops nothing; its hard top-half mask shows half the pixels: score 0.25.
    const ones = batch(new Float32Array(2 * area).fill(1));
    const hard = await metric("average-drop").compute({ ...ones, averageDropKeep: 0.5 });
    assert.deepEqual([...hard.values.average_drop!], [50, 50]);
    assert.deepEqual([...hard.values.explained_probability!], [0.25, 0.25]);
  });

  test("deletion of a constant-score model: every step scores the mean of what is left", async () => {
    // Deleting a share t of the pixels (set to 0) leaves mean 0.5 (1 - t): AUC 0.25.
    const out = await metric("deletion-insertion").compute(
      batch(new Float32Array(2 * area).fill(1)),
    );
    for (const v of out.values.deletion_auc!) assert.ok(Math.abs(v - 0.25) < 1e-6);
    assert.equal(out.curves!.deletion!.length, 2 * 33);
  });

  test("ROAD of the constant-score model: imputing a constant image keeps its mean", async () => {
    // Every neighbour of a removed pixel is 0.5 (or imputed as 0.5): the image stays 0.5 up to
    // the noise (sd 0.01 on the removed share), so every point scores about 0.5.
    const out = await metric("road").compute(batch(new Float32Array(2 * area).fill(1)));
    for (const v of out.curves!.road_morf!) assert.ok(Math.abs(v - 0.5) < 0.01, `${v}`);
    for (const v of out.values.road_lerf_auc!) assert.ok(Math.abs(v - 0.5) < 0.01, `${v}`);
    assert.equal(out.curves!.road_lerf!.length, 2 * 9);
  });

  test("signed maps: each column reads them as it declares (values worked out by hand)", async () => {
    const signed = (maps: Float32Array): MetricBatch => ({ ...batch(maps), signed: true });
    // Average Drop reads the positive part: image 0's map is -0.5 everywhere, so nothing of the
    // image is shown (score 0: drop 100%; as it is, the score would be -0.25 and the drop 150%);
    // image 1's is 0.5 everywhere: score 0.25, drop 50%.
    const halves = new Float32Array(2 * area);
    halves.fill(-0.5, 0, area);
    halves.fill(0.5, area);
    const drop = await metric("average-drop").compute(signed(halves));
    assert.deepEqual([...drop.values.average_drop!], [100, 50]);
    assert.deepEqual([...drop.values.explained_probability!], [0, 0.25]);

    // IoU and energy read the positive part: +1 on the object, -1 everywhere else, so the object
    // is all the map shows (|map| would cover the whole image: box IoU 16 / 64).
    const objects = new Float32Array(2 * area).fill(-1);
    for (const [i, mask] of masks.entries()) {
      mask.forEach((inside, p) => inside && (objects[i * area + p] = 1));
    }
    const iou = await metric("iou").compute(signed(objects));
    assert.deepEqual([...iou.values.box_iou!], [1, 1]);
    assert.deepEqual([...iou.values.mask_iou!], [1, 1]);
    const pointing = await metric("pointing").compute(signed(objects));
    assert.deepEqual([...pointing.values.energy_pointing!], [1, 1]);

    // Sparseness and complexity read |map|: one pixel at -1 and one at +1 are two equal masses
    // among 64: Gini sum_k (2k - 65) v_k / (64 sum v) = (61 + 63) / 128, entropy ln 2.
    const two = new Float32Array(2 * area);
    two[0] = -1;
    two[9] = 1;
    two[area + 5] = 1;
    two[area + 6] = -1;
    const c = await metric("complexity").compute(signed(two));
    for (const v of c.values.sparseness!) assert.ok(Math.abs(v - 124 / 128) < 1e-6, `${v}`);
    for (const v of c.values.complexity!) assert.ok(Math.abs(v - Math.log(2)) < 1e-6, `${v}`);
  });

  test("every column is declared once; names resolve and unknown ones are refused", () => {
    const columns = EVAL_METRICS.flatMap((m) => m.columns.map((c) => c.name));
    assert.equal(new Set(columns).size, columns.length);
    assert.equal(resolveMetrics(["all"]).length, EVAL_METRICS.length);
    assert.throws(
      () => resolveMetrics(["pointing", "nope"]),
      (e: unknown) =>
        e instanceof CamscopeError &&
        /Unknown metric "nope". Valid: deletion-insertion/.test(e.message),
    );
  });
});
