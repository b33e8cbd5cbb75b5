import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Matrix, SVD } from "ml-matrix";
import { createRng } from "../util/random.ts";
import { firstComponentProjection } from "./maps.ts";

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
