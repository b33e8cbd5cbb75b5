import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { targetScores } from "../runtime/targets.ts";
import { Engine, Tensor } from "../engine/engine.ts";
import { readImages } from "../io/images.ts";
import { preprocess } from "../image/preprocess.ts";
import { createRng, deriveSeed } from "../util/random.ts";
import { modelProbability, type ScoreFunction } from "./deletion-insertion.ts";
import { noisyLinearImputation, road } from "./road.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { openModel } from "../io/models.ts";

const SAMPLES = new URL("../../samples/", import.meta.url).pathname;

function each(f: (x: Float32Array, row: number) => number): ScoreFunction {
  return async (inputs, count, rows) => {
    const size = inputs.length / count;
    return Float32Array.from({ length: count }, (_, j) =>
      f(inputs.subarray(j * size, (j + 1) * size), rows[j]!),
    );
  };
}

/** Solves the imputation equations of the definition densely (Gaussian elimination). */
function denseImputation(image: Float32Array, h: number, w: number, removed: Uint8Array) {
  const ids = [...removed.keys()].filter((p) => removed[p]);
  const n = ids.length;
  // Row u: the equation of removed pixel u, coefficients then the right-hand side.
  const a = ids.map(() => new Array<number>(n + 1).fill(0));
  ids.forEach((p, u) => {
    const [x, y] = [p % w, Math.floor(p / w)];
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        if ((dx === 0 && dy === 0) || x + dx < 0 || y + dy < 0 || x + dx >= w || y + dy >= h)
          continue;
        const weight = dx === 0 || dy === 0 ? 1 / 6 : 1 / 12;
        const q = (y + dy) * w + x + dx;
        // x_p sum(w) - sum over removed q of w x_q = sum over kept q of w x_q.
        const row = a[u]!;
        row[u]! += weight;
        if (removed[q]) row[ids.indexOf(q)]! -= weight;
        else row[n]! += weight * image[q]!;
      }
    }
  });
  for (let k = 0; k < n; k++) {
    for (let i = k + 1; i < n; i++) {
      const [rowI, rowK] = [a[i]!, a[k]!];
      const f = rowI[k]! / rowK[k]!;
      for (let j = k; j <= n; j++) rowI[j]! -= f * rowK[j]!;
    }
  }
  const z = new Float64Array(n);
  for (let k = n - 1; k >= 0; k--) {
    let s = a[k]![n]!;
    for (let j = k + 1; j < n; j++) s -= a[k]![j]! * z[j]!;
    z[k] = s / a[k]![k]!;
  }
  const out = Float32Array.from(image);
  ids.forEach((p, u) => (out[p] = z[u]!));
  return out;
}

describe("noisy linear imputation", () => {
  it("reproduces a linear ramp where the removed pixels do not touch the border (no noise)", () => {
    const [h, w] = [14, 17];
    const ramp = Float32Array.from({ length: 2 * h * w }, (_, j) => {
      const [c, p] = [Math.floor(j / (h * w)), j % (h * w)];
      return c === 0 ? 0.3 * (p % w) - 0.2 * Math.floor(p / w) + 1 : -0.1 * (p % w) + 2;
    });
    const rng = createRng(3);
    const removed = new Uint8Array(h * w);
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) removed[y * w + x] = x < 9 || rng.chance(0.5) ? 1 : 0;
    }
    const out = noisyLinearImputation(ramp, [2, h, w], removed, 0, createRng(0));
    for (let j = 0; j < ramp.length; j++) assert.ok(Math.abs(out[j]! - ramp[j]!) < 1e-5, `${j}`);
  });

  it("solves the same system as a dense solver, border pixels included", () => {
    const [h, w] = [6, 7];
    const rng = createRng(8);
    const image = Float32Array.from({ length: h * w }, () => rng.range(-1, 1));
    const removed = Uint8Array.from({ length: h * w }, (_, p) =>
      p === 5 || rng.chance(0.6) ? 1 : 0,
    );
    removed[20] = 0;
    const out = noisyLinearImputation(image, [1, h, w], removed, 0, createRng(0));
    const expected = denseImputation(image, h, w, removed);
    for (let p = 0; p < h * w; p++) assert.ok(Math.abs(out[p]! - expected[p]!) < 1e-5);
    assert.throws(() =>
      noisyLinearImputation(image, [1, h, w], new Uint8Array(h * w).fill(1), 0, createRng(0)),
    );
  });

  it("adds seeded Gaussian noise of the given deviation to the imputed pixels only", () => {
    const [h, w] = [60, 60];
    const image = Float32Array.from({ length: h * w }, (_, p) => Math.sin(p));
    const removed = Uint8Array.from({ length: h * w }, (_, p) => (p % 3 === 0 ? 1 : 0));
    const clean = noisyLinearImputation(image, [1, h, w], removed, 0, createRng(0));
    const noisy = noisyLinearImputation(image, [1, h, w], removed, 0.5, createRng(4));
    assert.deepEqual(noisyLinearImputation(image, [1, h, w], removed, 0.5, createRng(4)), noisy);
    const diffs: number[] = [];
    for (let p = 0; p < h * w; p++) {
      if (removed[p]) diffs.push(noisy[p]! - clean[p]!);
      else assert.equal(noisy[p], image[p]);
    }
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    const sd = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / diffs.length);
    assert.ok(Math.abs(mean) < 0.04 && Math.abs(sd - 0.5) < 0.04, `mean ${mean}, sd ${sd}`);
  });
});

describe("ROAD", () => {
  const [h, w] = [5, 8];
  const images: FloatTensor = {
    data: Float32Array.from({ length: 2 * 2 * h * w }, (_, j) => Math.cos(j * 0.7)),
    dims: [2, 2, h, w],
  };
  const maps = Float32Array.from({ length: 2 * h * w }, (_, j) => Math.sin(j * 1.3));
  const top = [0, 1].map((i) => {
    const m = maps.subarray(i * h * w, (i + 1) * h * w);
    return m.indexOf(Math.max(...m));
  });

  it("removes round(p/100 H W) pixels, the most relevant for MoRF and the least for LeRF", async () => {
    // Score: share of changed pixels in channel 0, + 10 if the top pixel changed, + 100 * row.
    const score = each((x, row) => {
      const original = images.data.subarray(row * 2 * h * w);
      let changed = 0;
      for (let p = 0; p < h * w; p++) if (x[p] !== original[p]) changed++;
      return changed / (h * w) + (x[top[row]!] !== original[top[row]!] ? 10 : 0) + 100 * row;
    });
    const result = await road(images, maps, score, { percentages: [10, 25, 50], noise: 0.1 });
    const share = [4, 10, 20].map((k) => k / 40);
    for (let i = 0; i < 2; i++) {
      const morf = Array.from(result.morf.subarray(i * 3, i * 3 + 3));
      const lerf = Array.from(result.lerf.subarray(i * 3, i * 3 + 3));
      share.forEach((s, j) => {
        assert.ok(Math.abs(morf[j]! - (s + 10 + 100 * i)) < 1e-4);
        assert.ok(Math.abs(lerf[j]! - (s + 100 * i)) < 1e-4);
      });
      // Mean height of the trapezoid over [0.1, 0.5].
      const auc =
        ((0.15 * (share[0]! + share[1]!)) / 2 + (0.25 * (share[1]! + share[2]!)) / 2) / 0.4;
      assert.ok(Math.abs(result.lerfAuc[i]! - (auc + 100 * i)) < 1e-4);
      assert.ok(Math.abs(result.morfAuc[i]! - (auc + 10 + 100 * i)) < 1e-4);
    }
    assert.deepEqual(result.percentages, [10, 25, 50]);
  });

  it("gives the same result in any chunking, and another with another seed", async () => {
    const score = each((x) => x.reduce((a, b) => a + b, 0));
    const whole = await road(images, maps, score, { seed: 2 });
    assert.deepEqual(await road(images, maps, score, { seed: 2, chunk: 5 }), whole);
    assert.notDeepEqual(await road(images, maps, score, { seed: 3 }), whole);
    assert.equal(whole.morf.length, 18);
  });

  it("rejects percentages that are not increasing values below 100", async () => {
    const score = each(() => 0);
    await assert.rejects(road(images, maps, score, { percentages: [50, 20] }), /percentages/);
    await assert.rejects(road(images, maps, score, { percentages: [100] }), /percentages/);
  });

  it("on a bundled model, scores the imputed images' class probabilities in batches", async () => {
    const engine = new Engine({ threads: 1 });
    try {
      const ctx = await openModel("synth-vgg", engine);
      const decoded = await readImages([`${SAMPLES}heart.png`, `${SAMPLES}arrow.png`]);
      const { tensor, dims } = preprocess(decoded, ctx.card.preprocessing);
      const [, c, height, width] = dims;
      const area = height * width;
      // Maps: distance to the image centre, so MoRF removes the middle.
      const maps = Float32Array.from({ length: 2 * area }, (_, j) => {
        const p = j % area;
        return -Math.hypot((p % width) - width / 2, Math.floor(p / width) - height / 2);
      });
      const classes = [7, 9];
      const percentages = [30, 80];
      const result = await road({ data: tensor, dims }, maps, modelProbability(ctx, classes, 3), {
        percentages,
        seed: 5,
        chunk: 3,
      });
      // The same inputs, rebuilt from the definition and run in one batch.
      const inputs = new Float32Array(8 * c * area);
      const order = Int32Array.from({ length: area }, (_, p) => p).sort(
        (a, b) => maps[b]! - maps[a]! || a - b,
      );
      let item = 0;
      for (let i = 0; i < 2; i++) {
        for (const curve of ["morf", "lerf"]) {
          percentages.forEach((pct, j) => {
            const removed = new Uint8Array(area);
            const count = Math.round((pct / 100) * area);
            for (let k = 0; k < count; k++)
              removed[order[curve === "lerf" ? area - 1 - k : k]!] = 1;
            const rng = createRng(deriveSeed(5, i, curve, j));
            const x = tensor.subarray(i * c * area, (i + 1) * c * area);
            inputs.set(
              noisyLinearImputation(x, [c, height, width], removed, 0.01, rng),
              item++ * c * area,
            );
          });
        }
      }
      const session = await ctx.session();
      const out = await session.run({
        [ctx.input.name]: new Tensor("float32", inputs, [8, c, height, width]),
      });
      const logits = out[ctx.output]!.data as Float32Array;
      const expected = targetScores(logits, 10, [7, 7, 7, 7, 9, 9, 9, 9], "probability");
      const got = [0, 1].flatMap((i) => [
        ...result.morf.subarray(i * 2, i * 2 + 2),
        ...result.lerf.subarray(i * 2, i * 2 + 2),
      ]);
      got.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) < 1e-5));
      // Removing the middle 80% hurts more than removing the rim.
      for (let i = 0; i < 2; i++) assert.ok(result.morf[i * 2 + 1]! < result.lerf[i * 2 + 1]!);
    } finally {
      await engine.dispose();
    }
  });
});
