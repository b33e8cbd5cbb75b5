import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { Matrix, SVD } from "ml-matrix";
import { resizeBilinear } from "../image/resize.ts";
import { createRng } from "../util/random.ts";
import { finalCamMaps, firstComponentProjection } from "./maps.ts";

/** The projection on the first principal component by a full SVD of [h*w, K], sign as documented. */
function bySvd(values: Float32Array, dims: readonly number[]): Float64Array {
  const [n, k, h, w] = dims as [number, number, number, number];
  const area = h * w;
  const out = new Float64Array(n * area);
  for (let i = 0; i < n; i++) {
    const m = new Matrix(area, k);
    const channelMean = new Float64Array(area);
    for (let c = 0; c < k; c++) {
      let mean = 0;
      for (let p = 0; p < area; p++) mean += values[(i * k + c) * area + p]!;
      mean /= area;
      for (let p = 0; p < area; p++) {
        m.set(p, c, values[(i * k + c) * area + p]! - mean);
        channelMean[p]! += values[(i * k + c) * area + p]! / k;
      }
    }
    const v = new SVD(m, {
      computeLeftSingularVectors: false,
      autoTranspose: true,
    }).rightSingularVectors.getColumn(0);
    const projection = m.mmul(Matrix.columnVector(v)).getColumn(0);
    const sign = projection.reduce((a, x, p) => a + x * channelMean[p]!, 0) < 0 ? -1 : 1;
    projection.forEach((x, p) => (out[i * area + p] = sign * x));
  }
  return out;
}

describe("firstComponentProjection", () => {
  // More channels than positions (the Gram matrix of positions, e.g. ResNet's 2048 x 7 x 7) and
  // fewer (that of channels, e.g. an early 8-channel layer).
  for (const dims of [
    [2, 96, 4, 5],
    [2, 6, 7, 5],
  ]) {
    it(`equals the projection by a full SVD for [${dims.join(", ")}]`, () => {
      const rng = createRng(5);
      const size = dims.reduce((a, b) => a * b, 1);
      // Rectified features with one dominant direction, as real feature maps have.
      const values = Float32Array.from({ length: size }, (_, j) =>
        Math.max(0, rng.normal() + (j % 7 === 0 ? 2 : 0)),
      );
      const got = firstComponentProjection(values, dims);
      const want = bySvd(values, dims);
      const scale = Math.max(...want.map(Math.abs));
      const err = Math.max(...got.map((g, j) => Math.abs(g - want[j]!)));
      assert.ok(err <= 1e-6 * scale, `max error ${err} of ${scale}`);
    });
  }
});

// A 3 x 3 map peaking at its centre, upsampled to 4 x 4 (bilinear, align_corners false): output
// pixel i reads source coordinate (i + 0.5) * 3/4 - 0.5 = -0.125, 0.625, 1.375, 2.125, so no output
// pixel sits on the centre and the upsampled map misses the maximum.
const peak = { data: Float32Array.from([0, 0, 0, 0, 2, 0, 0, 0, 1]), dims: [1, 3, 3] };
const peakNormalised = Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0.5]);

function range(values: Float32Array): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

test("bilinear upsampling alone can miss a normalised map's extremes (why finalCamMaps normalises again)", () => {
  const [, hi] = range(resizeBilinear(peakNormalised, 1, 3, 3, 4, 4));
  assert.ok(hi < 1, `upsampled max ${hi}`);
});

test("a single layer's final map spans exactly [0, 1], as several layers' do", () => {
  const one = finalCamMaps([peak], true, [4, 4]);
  assert.deepEqual(one.dims, [1, 4, 4]);
  assert.deepEqual(range(one.data), [0, 1]);
  const other = { data: Float32Array.from([1, 0, 0, 0, 3, 0, 0, 0, 0]), dims: [1, 3, 3] };
  assert.deepEqual(range(finalCamMaps([peak, other], true, [4, 4]).data), [0, 1]);
});

test("final map of one layer: ReLU, min-max, upsampling, min-max again", () => {
  const plain = resizeBilinear(peakNormalised, 1, 3, 3, 4, 4);
  const [lo, hi] = range(plain);
  const { data } = finalCamMaps([peak], true, [4, 4]);
  for (let j = 0; j < 16; j++) {
    assert.ok(Math.abs(data[j]! - (plain[j]! - lo) / (hi - lo)) < 1e-7, `pixel ${j}`);
  }
});

test("final map worked by hand: 2 x 2 to 3 x 3 keeps the corners, the second min-max is a no-op", () => {
  // ReLU keeps [0, 1, 3, 4]; min-max gives [0, .25, .75, 1]. Output i reads source coordinate
  // (i + 0.5) * 2/3 - 0.5 = -1/6 (clamped to 0), 1/2, 7/6 (clamped to 1): weights (1, 0),
  // (1/2, 1/2), (0, 1), so the grid is the 2 x 2 map with its midpoints.
  const raw = { data: Float32Array.from([0, 1, 3, 4]), dims: [1, 2, 2] };
  const { data } = finalCamMaps([raw], true, [3, 3]);
  const expected = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1];
  for (let j = 0; j < 9; j++) assert.ok(Math.abs(data[j]! - expected[j]!) < 1e-7, `pixel ${j}`);
});
