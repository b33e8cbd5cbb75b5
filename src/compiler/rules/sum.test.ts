import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

// Linear: exact up to float32 rounding.

test("Sum gradient matches finite differences: one input", async (t) => {
  await assertGradients(t, singleOp("Sum", [3, 4]), 1e-4);
});

test("Sum gradient matches finite differences: live inputs, one broadcast, and a constant", async (t) => {
  const model = buildModel({
    inputs: [
      { name: "x", dims: [3, 4, 4] },
      { name: "s", dims: [3, 1, 1] },
    ],
    constants: [{ name: "c", dims: [4], data: [0.5, -1, 2, 0.25] }],
    nodes: [{ op: "Sum", inputs: ["x", "s", "c"], outputs: ["y"] }],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4);
});

test("Sum gradient matches finite differences: the same value three times", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [3, 4] }],
    nodes: [{ op: "Sum", inputs: ["x", "x", "x"], outputs: ["y"] }],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4);
});
