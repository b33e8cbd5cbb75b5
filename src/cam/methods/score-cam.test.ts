import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../engine/engine.ts";
import { CamscopeError } from "../../errors.ts";
import { resizeBilinear } from "../../image/resize.ts";
import { type ModelRuntime } from "../../runtime/runtime.ts";
import { createRng, deriveSeed } from "../../util/random.ts";
import { explainerRun, fakeRun, patternImages, camExplain } from "../testing/runs.ts";
import { isCam, scoreCam, ssCam } from "./score-cam.ts";
import { assertClose } from "../testing/assertions.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { openModel } from "../../io/models.ts";

const FIXTURE = new URL("../../compiler/fixtures/resnet_basic.onnx", import.meta.url).pathname;

/** A [rows, C, H, W] input and [rows, K, h, w] activations with distinct, varied values. */
function problem(rows: number, colours: number, size: number, channels: number, layer: number) {
  const input: FloatTensor = {
    data: Float32Array.from(
      { length: rows * colours * size * size },
      (_, j) => Math.cos(j * 0.71) + 0.2,
    ),
    dims: [rows, colours, size, size],
  };
  const activations: FloatTensor = {
    data: Float32Array.from(
      { length: rows * channels * layer * layer },
      (_, j) => Math.abs(Math.sin(j * 1.3)) * 3,
    ),
    dims: [rows, channels, layer, layer],
  };
  // Channel 1 of row 0 is constant: its mask is all zero.
  activations.data.fill(2, layer * layer, 2 * layer * layer);
  return { input, activations };
}

const scoreVectors = new Map<string, Float64Array>();

/** A linear score with a different weight vector per row. */
function linearScore(x: Float32Array, row: number): number {
  const key = `${x.length}:${row}`;
  let v = scoreVectors.get(key);
  if (!v)
    scoreVectors.set(
      key,
      (v = Float64Array.from({ length: x.length }, (_, p) => Math.sin(p * 0.013 + row))),
    );
  let s = 0;
  for (let p = 0; p < x.length; p++) s += x[p]! * v[p]!;
  return s;
}

/** minmax(up(A[i, k])) at the size of `input`, computed directly. */
function mask(activations: FloatTensor, i: number, k: number, input: FloatTensor): Float32Array {
  const [, channels, h, w] = activations.dims as [number, number, number, number];
  const [, , height, width] = input.dims as [number, number, number, number];
  const map = activations.data.subarray((i * channels + k) * h * w, (i * channels + k + 1) * h * w);
  const up = resizeBilinear(map, 1, h, w, height, width);
  const min = up.reduce((a, b) => Math.min(a, b));
  const max = up.reduce((a, b) => Math.max(a, b));
  return up.map((v) => (max > min ? (v - min) / (max - min) : 0));
}

function masked(x: Float32Array, m: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) out[j] = x[j]! * m[j % m.length]!;
  return out;
}

function softmax(values: readonly number[]): number[] {
  const max = Math.max(...values);
  const e = values.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Expected weights: softmax_k of mean_j score(X * variant(i, k, j, H_k)). */
function expectedWeights(
  input: FloatTensor,
  activations: FloatTensor,
  copies: number,
  variant: (i: number, k: number, j: number, h: Float32Array) => ArrayLike<number>,
): number[] {
  const rows = input.dims[0]!;
  const channels = activations.dims[1]!;
  const inputSize = input.data.length / rows;
  const out: number[] = [];
  for (let i = 0; i < rows; i++) {
    const x = input.data.subarray(i * inputSize, (i + 1) * inputSize);
    const scores: number[] = [];
    for (let k = 0; k < channels; k++) {
      const h = mask(activations, i, k, input);
      let sum = 0;
      for (let j = 0; j < copies; j++)
        sum += Math.fround(linearScore(masked(x, variant(i, k, j, h)), i));
      scores.push(sum / copies);
    }
    out.push(...softmax(scores));
  }
  return out;
}

describe("Score-CAM family on an analytic score", () => {
  const { input, activations } = problem(2, 2, 6, 4, 3);

  it("Score-CAM weights are the softmax of the masked scores; K passes", async () => {
    const run = fakeRun(input, activations, linearScore);
    const weights = await scoreCam.weights(run);
    assertClose(
      weights,
      expectedWeights(input, activations, 1, (_i, _k, _j, h) => h),
      1e-6,
    );
    assert.equal(run.passes, 4);
  });

  it("SS-CAM adds seeded per-pixel noise shared by the colour channels", async () => {
    const run = fakeRun(input, activations, linearScore, 11);
    const weights = await ssCam({ samples: 3, sigma: 0.3 }).weights(run);
    const expected = expectedWeights(input, activations, 3, (i, k, j, h) => {
      const rng = createRng(deriveSeed(11, i, k, j));
      return h.map((v) => v + Math.fround(0.3 * rng.normal()));
    });
    assertClose(weights, expected, 1e-6);
    assert.equal(run.passes, 12);
  });

  it("IS-CAM averages the scores of t/n-scaled masks", async () => {
    const run = fakeRun(input, activations, linearScore);
    const weights = await isCam({ steps: 5 }).weights(run);
    const expected = expectedWeights(input, activations, 5, (_i, _k, j, h) =>
      h.map((v) => ((j + 1) / 5) * v),
    );
    assertClose(weights, expected, 1e-6);
    assert.equal(run.passes, 20);
  });

  it("chunks split inside a channel's copies without changing the result", async () => {
    // 2 rows of 512 x 512 inputs: 32 inputs per row and chunk, so 35 per row take two calls,
    // the first ending inside channel 4's seven copies.
    const big = problem(2, 1, 512, 5, 4);
    const run = fakeRun(big.input, big.activations, linearScore);
    const weights = await isCam({ steps: 7 }).weights(run);
    assert.deepEqual(run.calls, [32, 3]);
    const expected = expectedWeights(big.input, big.activations, 7, (_i, _k, j, h) =>
      h.map((v) => Math.fround((j + 1) / 7) * v),
    );
    assertClose(weights, expected, 1e-6);
  });

  it("rejects bad options", () => {
    assert.throws(() => ssCam({ samples: 0 }), CamscopeError);
    assert.throws(() => ssCam({ sigma: -1 }), CamscopeError);
    assert.throws(() => isCam({ steps: 1.5 }), CamscopeError);
  });
});

describe("Score-CAM family on a model", () => {
  let engine: Engine;
  let ctx: ModelRuntime;
  let images: FloatTensor;
  before(async () => {
    engine = new Engine({ threads: 2 });
    ctx = await openModel(FIXTURE, engine, { preprocessing: "unit", card: false });
    images = patternImages(ctx.input.dims, 2);
  });
  after(() => engine.dispose());

  it("gives maps of the layer's and the input's size, K (x n) passes, deterministically", async () => {
    const methods = [scoreCam, ssCam({ samples: 2 }), isCam({ steps: 3 })];
    const first = await camExplain(ctx, images, { methods, seed: 4 });
    const again = await camExplain(ctx, images, { methods, seed: 4 });
    const [, channels, h, w] = first.layers[0]!.dims as [number, number, number, number];
    assert.deepEqual(
      first.results.map((r) => r.extraForwardPasses),
      [channels, 2 * channels, 3 * channels],
    );
    for (const [j, r] of first.results.entries()) {
      assert.deepEqual(r.raw[0]!.dims, [2, h, w]);
      assert.deepEqual(r.map.dims, [2, ...ctx.input.dims.slice(2)]);
      assert.deepEqual(r.raw[0]!.data, again.results[j]!.raw[0]!.data);
    }
    const other = await camExplain(ctx, images, { methods: [methods[1]!], seed: 5 });
    assert.notDeepEqual(other.results[0]!.raw[0]!.data, first.results[1]!.raw[0]!.data);
  });

  it("Score-CAM weights are the softmax of the masked inputs' logits", async () => {
    const run = await explainerRun(ctx, images);
    const weights = await scoreCam.weights(run);
    const [rows, channels] = run.activations.dims as [number, number];
    const inputSize = images.data.length / rows;
    const expected: number[] = [];
    for (let i = 0; i < rows; i++) {
      const x = run.input.data.subarray(i * inputSize, (i + 1) * inputSize);
      const inputs = new Float32Array(channels * inputSize);
      for (let k = 0; k < channels; k++) {
        inputs.set(masked(x, mask(run.activations, i, k, run.input)), k * inputSize);
      }
      const logits = (
        await ctx.forward({
          data: inputs,
          dims: [channels, ...images.dims.slice(1)],
        })
      ).logits.data;
      const units = logits.length / channels;
      expected.push(
        ...softmax(
          Array.from({ length: channels }, (_, k) => logits[k * units + run.targets.classes[i]!]!),
        ),
      );
    }
    assertClose(weights, expected, 1e-5);
  });

  it("IS-CAM with one step and SS-CAM with sigma 0 equal Score-CAM", async () => {
    const run = await explainerRun(ctx, images);
    const score = await scoreCam.weights(run);
    assert.deepEqual(await isCam({ steps: 1 }).weights(run), score);
    const smooth = await ssCam({ samples: 3, sigma: 0 }).weights(run);
    assertClose(smooth, score, 1e-7);
  });
});
