import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { targetScores } from "../runtime/targets.ts";
import { patternImages } from "../cam/testing/runs.ts";
import { Engine, Tensor } from "../engine/engine.ts";
import {
  deletionInsertion,
  modelProbability,
  saliencyOrder,
  trapezoidAuc,
  type ScoreFunction,
} from "./deletion-insertion.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { gaussianBlur } from "../image/blur.ts";
import { openModel } from "../io/models.ts";

const FIXTURE = new URL("../compiler/fixtures/resnet_basic.onnx", import.meta.url).pathname;

/** A score function applying `f` to each input. */
function each(f: (x: Float32Array, row: number) => number): ScoreFunction {
  return async (inputs, count, rows) => {
    const size = inputs.length / count;
    return Float32Array.from({ length: count }, (_, j) =>
      f(inputs.subarray(j * size, (j + 1) * size), rows[j]!),
    );
  };
}

const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;

describe("deletion and insertion", () => {
  it("deleting a uniform image under a mean score falls linearly: AUC 1/2", async () => {
    const images: FloatTensor = { data: new Float32Array(32).fill(1), dims: [1, 2, 4, 4] };
    const result = await deletionInsertion(images, new Float32Array(16), each(mean), { steps: 4 });
    assert.deepEqual(Array.from(result.deletionCurves), [1, 0.75, 0.5, 0.25, 0]);
    assert.equal(result.deletion[0], 0.5);
  });

  it("a score reading one pixel changes at the step that reaches it", async () => {
    const images: FloatTensor = {
      data: Float32Array.from({ length: 32 }, (_, j) => 1 + j / 8),
      dims: [1, 2, 4, 4],
    };
    // Pixel 5 ranks seventh (six pixels more salient), so with 4 pixels per step the third
    // point of each curve (8 pixels) is the first to include it.
    const saliency = Float32Array.from({ length: 16 }, (_, p) =>
      p < 5 || p === 6 ? 2 : p === 5 ? 1 : 0,
    );
    const probe = 16 + 5; // channel 1, pixel 5
    const result = await deletionInsertion(
      images,
      saliency,
      each((x) => x[probe]!),
      { steps: 4 },
    );
    const x = images.data[probe]!;
    const b = gaussianBlur(images.data, [2, 4, 4])[probe]!;
    assert.deepEqual(Array.from(result.deletionCurves), [x, x, 0, 0, 0]);
    assert.deepEqual(Array.from(result.insertionCurves), [b, b, x, x, x]);
    assert.ok(Math.abs(result.deletion[0]! - (x / 2 + x) / 4) < 1e-6);
    assert.ok(Math.abs(result.insertion[0]! - (b / 2 + b + x + x + x / 2) / 4) < 1e-6);
  });

  it("takes round(t * H * W / steps) pixels at step t, the same in any chunking", async () => {
    const images: FloatTensor = {
      data: Float32Array.from({ length: 48 }, (_, j) => (j % 5) + 1),
      dims: [3, 1, 4, 4],
    };
    const saliency = Float32Array.from({ length: 48 }, (_, j) => Math.sin(j));
    // The share of deleted pixels plus the image's index, so rows must be right too.
    const score = each((x, row) => x.filter((v) => v === 0).length / 16 + row);
    const whole = await deletionInsertion(images, saliency, score, { steps: 3 });
    const chunked = await deletionInsertion(images, saliency, score, { steps: 3, chunk: 5 });
    assert.deepEqual(chunked, whole);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(
        Array.from(whole.deletionCurves.subarray(i * 4, (i + 1) * 4)),
        [0, 5 / 16, 11 / 16, 1].map((v) => Math.fround(v + i)),
      );
    }
  });

  it("orders pixels by decreasing saliency, ties by index", () => {
    assert.deepEqual(Array.from(saliencyOrder(Float32Array.of(1, 3, 1, 3, 2))), [1, 3, 4, 0, 2]);
  });

  it("integrates by the trapezoid rule", () => {
    assert.equal(trapezoidAuc(Float32Array.of(1, 0)), 0.5);
    assert.equal(trapezoidAuc(Float32Array.of(0, 1, 1)), 0.75);
  });
});

describe("modelProbability", () => {
  it("scores the class probability: curves start (deletion) and end (insertion) at the image's", async () => {
    const engine = new Engine({ threads: 2 });
    try {
      const ctx = await openModel(FIXTURE, engine, { preprocessing: "unit", card: false });
      const images = patternImages(ctx.input.dims, 2);
      const [, , height, width] = ctx.input.dims as number[];
      const saliency = Float32Array.from({ length: 2 * height! * width! }, (_, j) =>
        Math.cos(j * 0.1),
      );
      const classes = [3, 7];
      const result = await deletionInsertion(images, saliency, modelProbability(ctx, classes, 8), {
        steps: 8,
        chunk: 7,
      });
      const session = await ctx.session();
      const out = await session.run({
        [ctx.input.name]: new Tensor("float32", images.data, images.dims),
      });
      const logits = out[ctx.output]!.data as Float32Array;
      const expected = targetScores(logits, logits.length / 2, classes, "probability");
      for (let i = 0; i < 2; i++) {
        assert.ok(Math.abs(result.deletionCurves[i * 9]! - expected[i]!) < 1e-6);
        assert.ok(Math.abs(result.insertionCurves[i * 9 + 8]! - expected[i]!) < 1e-6);
      }
      for (const v of [...result.deletion, ...result.insertion]) assert.ok(v >= 0 && v <= 1);
    } finally {
      await engine.dispose();
    }
  });
});
