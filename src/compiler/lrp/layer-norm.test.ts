import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createRng } from "../../util/random.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";
import { lrpRuleSet, uniformComposite } from "./composites.ts";

function draw(n: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

const lrp = (model: OnnxModel, x: Float32Array, r: Float32Array) =>
  vjpAt(model, x, r, lrpRuleSet(model, uniformComposite({ rule: "epsilon" })));

function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

/** LayerNormalization (opset 17) over the last axes from `axis`, of an input shaped `dims`. */
function fused(dims: number[], gamma: Float32Array, beta: Float32Array, axis = -1): OnnxModel {
  const norm = dims.slice((axis < 0 ? axis + dims.length + 1 : axis) - 1);
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants: [
      { name: "gamma", dims: norm, data: gamma },
      { name: "beta", dims: norm, data: beta },
    ],
    nodes: [
      {
        op: "LayerNormalization",
        inputs: ["x", "gamma", "beta"],
        outputs: ["y"],
        attrs: { axis, epsilon: { float: 1e-5 } },
      },
    ],
    outputs: ["y"],
    opset: 17,
  });
}

/** The LN-rule in float64: R_x = x * (g - mean g), g = gamma * R / (y sigma), rows of `size`. */
function lnRule(
  x: Float32Array,
  r: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  size: number,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += size) {
    const row = Array.from(x.subarray(o, o + size));
    const mean = row.reduce((a, b) => a + b) / size;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / size;
    const sigma = Math.sqrt(variance + 1e-5);
    const g = row.map((v, i) => {
      const y = (gamma[i]! * (v - mean)) / sigma + beta[i]!;
      return (gamma[i]! * r[o + i]!) / (y * sigma);
    });
    const gMean = g.reduce((a, b) => a + b) / size;
    row.forEach((v, i) => (out[o + i] = v * (g[i]! - gMean)));
  }
  return out;
}

describe("LN-rule (LayerNorm with its normalising scale held constant)", () => {
  test("hand example: x = (1, 2, 4, 7), R = (1, 0, 0, 0) gives (-0.3, 0.2, 0.4, 0.7)", async () => {
    // Centred x = (-2.5, -1.5, 0.5, 3.5); g = R / centred = (-0.4, 0, 0, 0), mean -0.1;
    // R_x = x * (g + 0.1), whatever sigma is.
    const model = fused([4], Float32Array.from([1, 1, 1, 1]), new Float32Array(4));
    const got = await lrp(model, Float32Array.from([1, 2, 4, 7]), Float32Array.from([1, 0, 0, 0]));
    assertNear(got, [-0.3, 0.2, 0.4, 0.7], 1e-6);
  });

  test("with a scale and a shift, over the last two axes of a rank-3 input", async () => {
    const gamma = draw(6, 1);
    const beta = draw(6, 2, 0.3);
    const x = draw(24, 3, 2);
    const r = draw(24, 4);
    const model = fused([2, 2, 3], gamma, beta, 2);
    assertNear(await lrp(model, x, r), lnRule(x, r, gamma, beta, 6), 1e-4);
  });

  test("without a shift it conserves relevance row by row", async () => {
    const gamma = draw(5, 5);
    const x = draw(15, 6, 3);
    const r = draw(15, 7);
    const got = await lrp(fused([3, 5], gamma, new Float32Array(5)), x, r);
    for (let row = 0; row < 3; row++) {
      const sum = (v: ArrayLike<number>) =>
        Array.from({ length: 5 }, (_, i) => v[row * 5 + i]!).reduce((a, b) => a + b);
      assert.ok(Math.abs(sum(got) - sum(r)) < 1e-5 * (1 + Math.abs(sum(r))), `row ${row}`);
    }
  });

  test("the opset-13 decomposition (ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add) gives the same relevance", async () => {
    const gamma = draw(5, 8);
    const beta = draw(5, 9, 0.3);
    const decomposed = buildModel({
      inputs: [{ name: "x", dims: [3, 5] }],
      constants: [
        { name: "gamma", dims: [5], data: gamma },
        { name: "beta", dims: [5], data: beta },
        { name: "two", dims: [], data: [2] },
        { name: "eps", dims: [], data: [1e-5] },
      ],
      nodes: [
        { op: "ReduceMean", inputs: ["x"], outputs: ["m"], attrs: { axes: [-1] } },
        { op: "Sub", inputs: ["x", "m"], outputs: ["d"] },
        { op: "Pow", inputs: ["d", "two"], outputs: ["d2"] },
        { op: "ReduceMean", inputs: ["d2"], outputs: ["v"], attrs: { axes: [-1] } },
        { op: "Add", inputs: ["v", "eps"], outputs: ["ve"] },
        { op: "Sqrt", inputs: ["ve"], outputs: ["s"] },
        { op: "Div", inputs: ["d", "s"], outputs: ["n"] },
        { op: "Mul", inputs: ["n", "gamma"], outputs: ["ng"] },
        { op: "Add", inputs: ["ng", "beta"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const x = draw(30, 10, 2);
    const r = draw(30, 11);
    const expected = lnRule(x, r, gamma, beta, 5);
    assertNear(await lrp(decomposed, x, r), expected, 1e-4);
    assertNear(await lrp(fused([3, 5], gamma, beta), x, r), expected, 1e-4);
  });
});
