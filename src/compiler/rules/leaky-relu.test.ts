import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

// Piecewise linear, and the default inputs keep |x| >= 1/16 > eps: central differences are exact
// up to float32 rounding, relative error well under 1e-4.

for (const alpha of [0.01, 0.2, 1.5, -0.5]) {
  test(`LeakyRelu gradient matches finite differences: alpha ${alpha}`, async (t) => {
    await assertGradients(t, singleOp("LeakyRelu", [3, 4, 4], { alpha: { float: alpha } }), 1e-4);
  });
}

test("LeakyRelu gradient matches finite differences: opset 8 (no Sign yet)", async (t) => {
  await assertGradients(
    t,
    singleOp("LeakyRelu", [3, 4, 4], { alpha: { float: 0.1 } }, [], 8),
    1e-4,
  );
});

const slopes = [0.25, 0, 0.5, 1];
for (const [name, data] of [
  ["slopes in [0, 1]", slopes],
  ["slopes outside [0, 1]", [2, -0.5, 0.5, 1.5]],
] as const) {
  test(`PRelu gradient matches finite differences: constant per-channel ${name}`, async (t) => {
    const model = singleOp("PRelu", [4, 3, 3], {}, [{ name: "slope", dims: [4, 1, 1], data }]);
    await assertGradients(t, model, 1e-4);
  });
}

test("PRelu gradient matches finite differences: live slope broadcast over space", async (t) => {
  const model = buildModel({
    inputs: [
      { name: "x", dims: [4, 3, 3] },
      { name: "slope", dims: [4, 1, 1] },
    ],
    nodes: [{ op: "PRelu", inputs: ["x", "slope"], outputs: ["y"] }],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4);
});

test("LeakyRelu and PRelu pass the slope at x = 0, as PyTorch does", async () => {
  const x = Float32Array.from([-1, 0, 2, 0]);
  for (const alpha of [0.1, 1.5]) {
    const leaky = await vjpAt(singleOp("LeakyRelu", [4], { alpha: { float: alpha } }), x);
    assert.deepEqual([...leaky], [alpha, alpha, 1, alpha].map(Math.fround));
  }
  for (const slope of [
    [0.25, 0.5, 0.75, 1],
    [0.25, 0.5, 0.75, 2],
  ]) {
    const prelu = await vjpAt(
      singleOp("PRelu", [4], {}, [{ name: "slope", dims: [4], data: slope }]),
      x,
    );
    assert.deepEqual([...prelu], [slope[0], slope[1], 1, slope[3]]);
  }
});
