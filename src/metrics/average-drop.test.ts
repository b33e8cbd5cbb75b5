import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { targetScores } from "../runtime/targets.ts";
import { Engine, Tensor } from "../engine/engine.ts";
import { preprocess } from "../image/preprocess.ts";
import { readImages } from "../io/images.ts";
import { createRng } from "../util/random.ts";
import { averageDrop, winPercent } from "./average-drop.ts";
import { modelProbability, type ScoreFunction } from "./deletion-insertion.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { openModel } from "../io/models.ts";

const SAMPLES = new URL("../../samples/", import.meta.url).pathname;

/** A score function applying `f` to each input; counts its calls. */
function each(f: (x: Float32Array, row: number) => number): ScoreFunction & { calls: number } {
  const fn = async (inputs: Float32Array, count: number, rows: Int32Array) => {
    fn.calls++;
    const size = inputs.length / count;
    return Float32Array.from({ length: count }, (_, j) =>
      f(inputs.subarray(j * size, (j + 1) * size), rows[j]!),
    );
  };
  fn.calls = 0;
  return fn;
}

const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;

/** n constant images [n, 2, 3, 3] of the given values. */
function constant(values: number[]): FloatTensor {
  const data = new Float32Array(values.length * 18);
  values.forEach((v, i) => data.fill(v, i * 18, (i + 1) * 18));
  return { data, dims: [values.length, 2, 3, 3] };
}

describe("average drop and increase in confidence", () => {
  it("the all-ones map drops nothing and increases nothing", async () => {
    const images = constant([2, 5]);
    const result = await averageDrop(images, new Float32Array(18).fill(1), each(mean));
    assert.deepEqual(Array.from(result.drop), [0, 0]);
    assert.deepEqual(Array.from(result.increase), [0, 0]);
    assert.deepEqual(result.original, result.explained);
    assert.equal(result.averageDrop, 0);
    assert.equal(result.increaseInConfidence, 0);
  });

  it("a half map halves a mean score: drop 50%; fading to a baseline changes O as x m + b (1 - m)", async () => {
    const images = constant([2, 4]);
    const half = new Float32Array(18).fill(0.5);
    const plain = await averageDrop(images, half, each(mean));
    assert.deepEqual(Array.from(plain.explained), [1, 2]);
    assert.deepEqual(Array.from(plain.drop), [50, 50]);
    assert.equal(plain.averageDrop, 50);
    // Baseline 1: O = x / 2 + 1/2 = 1.5 and 2.5: drops 25% and 37.5%.
    const faded = await averageDrop(images, half, each(mean), { baseline: 1 });
    assert.deepEqual(Array.from(faded.drop), [25, 37.5]);
    assert.equal(faded.averageDrop, 31.25);
    // Per channel: channel 0 fades to 0, channel 1 to 2: O = mean(x/2, x/2 + 1).
    const channels = await averageDrop(images, half, each(mean), { baseline: [0, 2] });
    assert.deepEqual(Array.from(channels.explained), [1.5, 2.5]);
    await assert.rejects(averageDrop(images, half, each(mean), { baseline: [1] }), /baseline/);
  });

  it("a hard mask keeps the top share of pixels (Relevance-CAM's protocol), ties by lower index", async () => {
    // One 1 x 2 x 2 image [1, 2, 3, 4]: mean 2.5.
    const image = { data: Float32Array.of(1, 2, 3, 4), dims: [1, 1, 2, 2] };
    const map = Float32Array.of(0.1, 0.9, 0.5, 0.3);
    // The top half is pixels 1 and 2: [0, 2, 3, 0], mean 1.25, drop 50%.
    const hard = await averageDrop(image, map, each(mean), { keep: 0.5 });
    assert.deepEqual(Array.from(hard.explained), [1.25]);
    assert.deepEqual(Array.from(hard.drop), [50]);
    // The soft map gives [0.1, 1.8, 1.5, 1.2]: mean 1.15, drop 54%.
    const soft = await averageDrop(image, map, each(mean));
    assert.ok(Math.abs(soft.explained[0]! - 1.15) < 1e-6);
    // A constant map: the first two pixels, [1, 2, 0, 0], mean 0.75.
    const ties = await averageDrop(image, new Float32Array(4).fill(0.7), each(mean), { keep: 0.5 });
    assert.deepEqual(Array.from(ties.explained), [0.75]);
    // Keeping everything is the all-ones mask.
    const all = await averageDrop(image, map, each(mean), { keep: 1 });
    assert.deepEqual(Array.from(all.drop), [0]);
    await assert.rejects(
      averageDrop(image, map, each(mean), { keep: 0 }),
      /Average Drop keep must be a number above 0 and at most 1, got 0/,
    );
  });

  it("counts increases, and gives NaN drop for non-positive scores", async () => {
    // Score 10 - mean: darkening raises it.
    const images = constant([2, 1]);
    const maps = Float32Array.of(...new Array(9).fill(0.5), ...new Array(9).fill(1));
    const result = await averageDrop(
      images,
      maps,
      each((x) => 10 - mean(x)),
    );
    assert.deepEqual(Array.from(result.increase), [1, 0]);
    assert.deepEqual(Array.from(result.drop), [0, 0]);
    assert.equal(result.increaseInConfidence, 50);
    const negative = await averageDrop(constant([-1]), new Float32Array(9), each(mean));
    assert.ok(Number.isNaN(negative.drop[0]));
    assert.ok(Number.isNaN(negative.averageDrop));
  });

  it("scores in chunks, every image on its own row, whatever the chunk size", async () => {
    const images = constant([1, 2, 3, 4, 5]);
    const maps = Float32Array.from({ length: 45 }, (_, j) => (j % 7) / 7);
    const score = each((x, row) => mean(x) + 100 * row);
    const whole = await averageDrop(images, maps, score);
    assert.equal(score.calls, 1);
    const chunked = await averageDrop(images, maps, score, { chunk: 3 });
    assert.equal(score.calls, 1 + 4);
    assert.deepEqual(chunked, whole);
    assert.deepEqual(Array.from(whole.original), [1, 102, 203, 304, 405]);
  });

  it("win% counts strictly higher explained scores", () => {
    assert.equal(winPercent(Float32Array.of(1, 2, 3, 4), Float32Array.of(0, 2, 5, 1)), 50);
    assert.throws(() => winPercent(Float32Array.of(1), Float32Array.of()), /same images/);
  });

  it("on a bundled model, equals the class probabilities of x and x * map from one direct run", async () => {
    const engine = new Engine({ threads: 1 });
    try {
      const ctx = await openModel("synth-resnet", engine);
      const decoded = await readImages([
        `${SAMPLES}star.png`,
        `${SAMPLES}ring.png`,
        `${SAMPLES}cross.png`,
      ]);
      const { tensor, dims } = preprocess(decoded, ctx.card.preprocessing);
      const area = dims[2] * dims[3];
      const rng = createRng(11);
      const maps = Float32Array.from({ length: 3 * area }, () => rng.next());
      const classes = [3, 5, 4]; // star, ring, cross
      const result = await averageDrop(
        { data: tensor, dims },
        maps,
        modelProbability(ctx, classes, 4),
        {
          chunk: 4,
        },
      );
      const explained = tensor.map(
        (v, j) => v * maps[Math.floor(j / (3 * area)) * area + (j % area)]!,
      );
      const session = await ctx.session();
      const both = new Float32Array(tensor.length * 2);
      both.set(tensor);
      both.set(explained, tensor.length);
      const out = await session.run({
        [ctx.input.name]: new Tensor("float32", both, [6, ...dims.slice(1)]),
      });
      const logits = out[ctx.output]!.data as Float32Array;
      const expected = targetScores(logits, 10, [...classes, ...classes], "probability");
      for (let i = 0; i < 3; i++) {
        assert.ok(Math.abs(result.original[i]! - expected[i]!) < 1e-5);
        assert.ok(Math.abs(result.explained[i]! - expected[3 + i]!) < 1e-5);
        const drop = (100 * Math.max(0, expected[i]! - expected[3 + i]!)) / expected[i]!;
        assert.ok(Math.abs(result.drop[i]! - drop) < 1e-2);
      }
      // The bundled model recognises its samples.
      for (const y of result.original) assert.ok(y > 0.5);
    } finally {
      await engine.dispose();
    }
  });
});
