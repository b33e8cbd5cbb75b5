import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

// Where routes each element to one branch; with the default inputs at least 1/16 away from the
// condition's threshold 0 and eps = 1/256, no difference crosses it, so the check is exact up to
// the branches' own smoothness (Exp: ~1e-5). The conditions come from the input through Greater,
// Less and Not: boolean values carry no gradient and need no rule.
const dims = [3, 4, 4];

test("Where gradient matches finite differences: both branches computed from the input", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims }],
    constants: [{ name: "zero", dims: [], data: [0] }],
    nodes: [
      { op: "Greater", inputs: ["x", "zero"], outputs: ["c"] },
      { op: "Exp", inputs: ["x"], outputs: ["e"] },
      { op: "Where", inputs: ["c", "x", "e"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4);
});

test("Where gradient matches finite differences: a broadcast [N, C, 1, 1] branch, Not(Less) condition", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims }],
    constants: [{ name: "zero", dims: [], data: [0] }],
    nodes: [
      { op: "GlobalAveragePool", inputs: ["x"], outputs: ["m"] },
      { op: "Less", inputs: ["x", "zero"], outputs: ["q"] },
      { op: "Not", inputs: ["q"], outputs: ["c"] },
      { op: "Where", inputs: ["c", "m", "x"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4);
});
