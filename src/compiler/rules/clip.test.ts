import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

// Inputs spread over about [-7, 7], multiples of 4.5/64, at least 1/64 away from the bounds 0 and
// 6, so with eps = 1/256 no difference straddles a bound: piecewise linear, exact up to float32
// rounding.
const dims = [3, 4, 4];
const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => 4.5 * v);

/** Clip with its bounds as constant inputs (opset 11 on), either of them left out. */
function clipModel(bounds: { min?: number; max?: number }, opset: number, xDims = dims) {
  const constants = [];
  if (bounds.min !== undefined) constants.push({ name: "min", dims: [], data: [bounds.min] });
  if (bounds.max !== undefined) constants.push({ name: "max", dims: [], data: [bounds.max] });
  const inputs = [
    "x",
    bounds.min === undefined ? "" : "min",
    ...(bounds.max === undefined ? [] : ["max"]),
  ];
  return buildModel({
    inputs: [{ name: "x", dims: xDims }],
    constants,
    nodes: [{ op: "Clip", inputs, outputs: ["y"] }],
    outputs: ["y"],
    opset,
  });
}

for (const [name, bounds, opset] of [
  ["ReLU6 (min 0, max 6 as inputs), opset 11", { min: 0, max: 6 }, 11],
  ["ReLU6, opset 13", { min: 0, max: 6 }, 13],
  ["only min", { min: 0 }, 13],
  ["only max", { max: 6 }, 13],
] as const) {
  test(`Clip gradient matches finite differences: ${name}`, async (t) => {
    await assertGradients(t, clipModel(bounds, opset), 1e-4, { data: { x } });
  });
}

test("Clip gradient matches finite differences: min and max attributes (opset 10)", async (t) => {
  const model = singleOp("Clip", dims, { min: { float: 0 }, max: { float: 6 } }, [], 10);
  await assertGradients(t, model, 1e-4, { data: { x } });
});

test("Clip (ReLU6) passes nothing at either bound, as PyTorch's hardtanh/relu6 backward", async () => {
  const grad = await vjpAt(
    clipModel({ min: 0, max: 6 }, 11, [5]),
    Float32Array.from([-1, 0, 3, 6, 7]),
  );
  assert.deepEqual([...grad], [0, 0, 1, 0, 0]);
});

test("Clip gradient matches finite differences: only a max attribute (opset 10)", async (t) => {
  await assertGradients(t, singleOp("Clip", dims, { max: { float: 6 } }, [], 10), 1e-4, {
    data: { x },
  });
});
