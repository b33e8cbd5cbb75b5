// Attribution methods on a linear classifier, where every answer has a closed form (see
// testing/linear-model.ts), and the pipeline's bookkeeping: targets, passes, batching, errors.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { assertClose } from "../cam/testing/assertions.ts";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { NonFiniteError } from "../util/finite.ts";
import { solidImage } from "./baselines.ts";
import { attributionInstances } from "../methods/testing/instances.ts";
import { pixelExplain } from "./testing/runs.ts";
import { linearModel, randomInputs } from "./testing/linear-model.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

const [C, H, W] = [3, 6, 5];
const AREA = H * W;
const SIZE = C * AREA;
const model = linearModel(engine, [C, H, W], 4);
const images = randomInputs(3, [C, H, W], 7);
const CLASSES = [2, 0, 3];

/** W_k at channel c, pixel p. */
const weight = (k: number, c: number, p: number) => model.weights[k * SIZE + c * AREA + p]!;
const pixel = (i: number, c: number, p: number) => images.data[i * SIZE + c * AREA + p]!;

/** Expected [R, H*W] from a per-(row, pixel) function. */
function perPixel(f: (r: number, p: number) => number): Float32Array {
  return Float32Array.from({ length: CLASSES.length * AREA }, (_, j) =>
    f(Math.floor(j / AREA), j % AREA),
  );
}

async function attribute(names: string[], options = {}) {
  return pixelExplain(model.ctx, images, {
    methods: attributionInstances(model.ctx.model, names, options),
    target: { classes: CLASSES },
    batchSize: 4,
  });
}

describe("gradient methods on a linear model", () => {
  test("saliency, gradient and Gradient x Input are |W|, W and W x reduced over channels", async () => {
    const e = await attribute(["saliency", "gradient", "gradxinput"]);
    const [saliency, gradient, gxi] = e.results;
    const k = (r: number) => CLASSES[r]!;
    const channels = (f: (c: number) => number) => [0, 1, 2].map(f);
    assertClose(
      saliency!.attribution.data,
      perPixel((r, p) => Math.max(...channels((c) => Math.abs(weight(k(r), c, p))))),
      1e-6,
    );
    assertClose(
      gradient!.attribution.data,
      perPixel((r, p) => channels((c) => weight(k(r), c, p)).reduce((a, b) => a + b)),
      1e-5,
    );
    assertClose(
      gxi!.attribution.data,
      perPixel((r, p) =>
        channels((c) => weight(k(r), c, p) * pixel(r, c, p)).reduce((a, b) => a + b),
      ),
      1e-5,
    );
    assert.equal(saliency!.signed, false);
    assert.equal(gradient!.signed, true);
    // The three share one backward pass per row.
    assert.deepEqual(
      e.results.map((r) => r.backwardPasses),
      [1, 0, 0],
    );
    assert.deepEqual(e.results[0]!.attribution.dims, [3, H, W]);
  });

  test("display maps: signed ones scaled into [-1, 1] by the largest magnitude, unsigned min-max", async () => {
    const e = await attribute(["gradient", "saliency"]);
    const [signed, unsigned] = e.results;
    for (let r = 0; r < 3; r++) {
      const raw = signed!.attribution.data.subarray(r * AREA, (r + 1) * AREA);
      const m = Math.max(...Array.from(raw, Math.abs));
      assertClose(
        signed!.map.data.subarray(r * AREA, (r + 1) * AREA),
        raw.map((v) => v / m),
        1e-6,
      );
      const u = Array.from(unsigned!.map.data.subarray(r * AREA, (r + 1) * AREA));
      assert.equal(Math.min(...u), 0);
      assert.equal(Math.max(...u), 1);
    }
  });

  test("Integrated Gradients is exactly (x - x') W for every baseline, and complete", async () => {
    const custom = randomInputs(1, [C, H, W], 9);
    const black = solidImage(model.ctx.card.preprocessing, 0);
    assert.deepEqual(Array.from(black.subarray(0, 1)), [-2]); // (0 - 0.5) / 0.25
    for (const [baseline, at] of [
      ["black", (_r: number, e: number) => black[e]!],
      [custom, (_r: number, e: number) => custom.data[e]!],
    ] as const) {
      const e = await attribute(["ig"], { ig: { steps: 5, baseline } });
      const ig = e.results[0]!;
      assertClose(
        ig.attribution.data,
        perPixel((r, p) =>
          [0, 1, 2].reduce(
            (s, c) => s + weight(CLASSES[r]!, c, p) * (pixel(r, c, p) - at(r, c * AREA + p)),
            0,
          ),
        ),
        1e-4,
      );
      // Exact up to float32 rounding of logits of magnitude ~10.
      for (let r = 0; r < 3; r++) {
        assert.ok(
          Math.abs(ig.completeness!.gap[r]!) < 1e-4,
          `row ${r}: gap ${ig.completeness!.gap[r]}`,
        );
      }
      assert.equal(ig.backwardPasses, 5);
      assert.equal(ig.forwardPasses, 1);
    }
  });

  test("SmoothGrad of a constant gradient is the saliency map, VarGrad is zero", async () => {
    const smoothGrad = { samples: 3, noise: 0.3 };
    const e = await attribute(["saliency", "smoothgrad", "smoothgrad-sq", "vargrad"], {
      smoothgrad: smoothGrad,
      "smoothgrad-sq": smoothGrad,
      vargrad: smoothGrad,
    });
    const [saliency, smooth, squared, variance] = e.results;
    assertClose(smooth!.attribution.data, saliency!.attribution.data, 1e-6);
    assertClose(
      squared!.attribution.data,
      saliency!.attribution.data.map((v) => v * v),
      1e-5,
    );
    assert.ok(variance!.attribution.data.every((v) => Math.abs(v) < 1e-5));
    assert.deepEqual(
      e.results.map((r) => r.backwardPasses),
      [1, 3, 0, 0],
    );
  });
});

describe("perturbation methods on a linear model", () => {
  test("occlusion: each pixel averages W . (x - value) over the windows covering it", async () => {
    const [wh, ww, sh, sw, value] = [3, 2, 2, 2, 0.5];
    const e = await attribute(["occlusion"], {
      occlusion: { window: [wh, ww], stride: [sh, sw], value },
    });
    // Windows: rows 0, 2, 3 (flush with the bottom edge of 6), columns 0, 2, 3 (of 5).
    const ys = [0, 2, 3];
    const xs = [0, 2, 3];
    const expected = perPixel((r, p) => {
      const [py, px] = [Math.floor(p / W), p % W];
      let sum = 0;
      let count = 0;
      for (const y0 of ys) {
        for (const x0 of xs) {
          if (py < y0 || py >= y0 + wh || px < x0 || px >= x0 + ww) continue;
          let drop = 0;
          for (let c = 0; c < C; c++) {
            for (let y = y0; y < y0 + wh; y++) {
              for (let x = x0; x < x0 + ww; x++) {
                drop += weight(CLASSES[r]!, c, y * W + x) * (pixel(r, c, y * W + x) - value);
              }
            }
          }
          sum += drop;
          count++;
        }
      }
      return sum / count;
    });
    const occlusion = e.results[0]!;
    assertClose(occlusion.attribution.data, expected, 1e-4);
    assert.equal(occlusion.forwardPasses, 9);
    assert.equal(occlusion.signed, true);
  });

  test("RISE of a model that ignores its input is bias x mean mask / p: about the bias", async () => {
    const constant = linearModel(engine, [C, H, W], 2, { seed: 3, weightScale: 0 });
    const e = await pixelExplain(constant.ctx, images, {
      methods: attributionInstances(constant.ctx.model, ["rise"], {
        rise: { masks: 400, cells: 3, probability: 0.5 },
      }),
      target: { classes: [1, 1, 1] },
      batchSize: 64,
    });
    const bias = constant.bias[1]!;
    // 400 masks of 9 cells: the mean of each pixel's mask values is within a few percent of p.
    for (const v of e.results[0]!.attribution.data) {
      assert.ok(Math.abs(v / bias - 1) < 0.15, `${v / bias}`);
    }
    assert.equal(e.results[0]!.forwardPasses, 400);
  });
});

describe("errors", () => {
  test("a baseline tensor of the wrong shape names the expected shapes", async () => {
    await assert.rejects(
      attribute(["ig"], {
        ig: { baseline: { data: new Float32Array(7), dims: [7] } },
      }),
      (error: unknown) =>
        error instanceof CamscopeError &&
        /baseline tensor is \[7\]; expected \[3, 6, 5\]/.test(error.message),
    );
  });

  test("occlusion windows that leave pixels uncovered are refused, not averaged into NaN", async () => {
    await assert.rejects(
      attribute(["occlusion"], { occlusion: { window: 2, stride: 3 } }),
      /a stride of 3 is longer than the window of 2: pixels between windows would be covered by none/,
    );
  });

  test("explain options out of range or of the wrong type name the option", async () => {
    const methods = attributionInstances(model.ctx.model, ["saliency"]);
    for (const [options, pattern] of [
      [{ batchSize: 0 }, /^batchSize must be an integer, at least 1, got 0$/],
      [{ seed: -1 }, /^seed must be an integer, at least 0, got -1$/],
      [{ target: { topK: -1 } }, /^target topK must be an integer, at least 1, got -1$/],
      [{ target: { score: "odds" } }, /^target score must be one of: logit, probability/],
    ] as const) {
      await assert.rejects(
        pixelExplain(model.ctx, images, { methods, ...options } as never),
        (e: unknown) => e instanceof CamscopeError && pattern.test(e.message),
      );
    }
    await assert.rejects(
      pixelExplain(model.ctx, { data: images.data.subarray(1), dims: images.dims }, { methods }),
      /images dims \[3, 3, 6, 5\] hold 270 values, but its data has 269/,
    );
  });

  test("NaN in the logits names the images, for the caller to report and skip", async () => {
    const broken = linearModel(engine, [C, H, W], 4, { weightScale: NaN });
    await assert.rejects(
      pixelExplain(broken.ctx, images, {
        methods: attributionInstances(broken.ctx.model, ["saliency"]),
      }),
      (e: unknown) =>
        e instanceof NonFiniteError &&
        e.images.join() === "0,1,2" &&
        /logits .* hold NaN/.test(e.message),
    );
  });

  test("bad method options are refused when the method is built", () => {
    assert.throws(
      () => attributionInstances(model.ctx.model, ["ig"], { ig: { steps: 0 } }),
      /Integrated Gradients steps must be an integer from 1 to 100000, got 0/,
    );
    assert.throws(
      () => attributionInstances(model.ctx.model, ["rise"], { rise: { probability: 0 } }),
      /RISE probability must be a number above 0 and at most 1, got 0/,
    );
    assert.throws(
      () => attributionInstances(model.ctx.model, ["occlusion"], { occlusion: { window: 0 } }),
      /window/,
    );
    assert.throws(
      () => attributionInstances(model.ctx.model, ["saliancy"]),
      /Unknown method "saliancy". CAM methods: .* Pixel-attribution methods: saliency/,
    );
  });
});
