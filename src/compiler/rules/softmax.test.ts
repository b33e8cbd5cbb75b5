import assert from "node:assert/strict";
import { test } from "node:test";
import { createRng } from "../../util/random.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";
import { sizeOf } from "../../tensor/tensor.ts";

// Softmax is smooth but not elementwise: one perturbed input moves its whole group of outputs.
// The central difference's truncation error grows as eps^2 and its float32 rounding error as
// 1/eps. Sweeps over eps = 1/1024 .. 1/16 fit about 0.13 eps^2 + 1.5e-7 / eps relative for the
// single ops and 5 eps^2 + 2e-8 / eps for the graph below (h = x W reaches +-5); at the default
// eps = 1/256 that is at most ~4e-5. 2e-4 leaves a margin of five, and a wrong reduction (axis
// or opset form) errs by order 1.
const maxError = 2e-4;

const cases: { name: string; dims: number[]; axis?: number; opset: number }[] = [
  { name: "opset 13, default axis -1", dims: [10], opset: 13 },
  { name: "opset 13, axis 1 of 4-D", dims: [3, 4, 5], axis: 1, opset: 13 },
  { name: "opset 13, axis -2 of 4-D", dims: [3, 4, 5], axis: -2, opset: 13 },
  { name: "opset 11, default axis 1 (over 3*4*5 values)", dims: [3, 4, 5], opset: 11 },
  { name: "opset 11, axis 2 (over 4*5 values)", dims: [3, 4, 5], axis: 2, opset: 11 },
  { name: "opset 11, axis -1", dims: [3, 4, 5], axis: -1, opset: 11 },
  { name: "opset 21, attention scores over the last axis", dims: [2, 3, 3], opset: 21 },
];

// LogSoftmax is as smooth (its Hessian is Softmax's Jacobian), but its outputs are about ln(60) in
// magnitude, not 1/60, and every one moves: float32 rounding over eps dominates (~1.5e-4 measured
// at eps = 1/256). At eps = 1/64 the rounding is four times smaller and the truncation still
// ~0.13 eps^2 = 3e-5.
for (const op of ["Softmax", "LogSoftmax"]) {
  for (const c of cases) {
    test(`${op} gradient matches finite differences: ${c.name}`, async (t) => {
      const model = singleOp(op, c.dims, c.axis === undefined ? {} : { axis: c.axis }, [], c.opset);
      await assertGradients(t, model, maxError, op === "LogSoftmax" ? { eps: 1 / 64 } : {});
    });
  }
}

test("opset 11 graph: MatMul, pre-13 Softmax, and a value with two consumers", async (t) => {
  // h = x W feeds both the softmax (over the flattened [3, 5] per sample) and the product.
  const rng = createRng(5);
  const w = Float32Array.from({ length: sizeOf([4, 5]) }, () => rng.normal());
  const model = buildModel({
    inputs: [{ name: "x", dims: [3, 4] }],
    constants: [{ name: "w", dims: [4, 5], data: w }],
    nodes: [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["h"] },
      { op: "Softmax", inputs: ["h"], outputs: ["p"] },
      { op: "Mul", inputs: ["p", "h"], outputs: ["y"] },
    ],
    outputs: ["y"],
    opset: 11,
  });
  await assertGradients(t, model, maxError);
});

test("Softmax over the batch axis is refused", async () => {
  await assert.rejects(
    vjpAt(singleOp("Softmax", [3], { axis: 0 }), new Float32Array(6)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Softmax_0".*batch axis/.test(e.message),
  );
});
