import { test } from "node:test";
import { createRng } from "../../util/random.ts";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";
import { sizeOf } from "../../tensor/tensor.ts";

// MatMul is linear in each operand (bilinear when both are live, quadratic for x @ x), so central
// differences are exact for any eps up to float32 rounding of the outputs, which a large eps
// (1/16) divides down: relative error well under 1e-4.
const eps = 1 / 16;

function weights(dims: number[], seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: sizeOf(dims) }, () => rng.normal() * 0.5);
}

const cases: {
  name: string;
  a: number[] | { constant: number[] };
  b: number[] | { constant: number[] };
}[] = [
  { name: "2-D input times constant weight", a: [4], b: { constant: [4, 3] } },
  { name: "batched, both operands live", a: [3, 4], b: [4, 5] },
  { name: "live operand broadcast along a batch axis", a: [2, 3, 4], b: [1, 4, 5] },
  {
    name: "input broadcast against a constant of lower rank",
    a: [1, 3, 4],
    b: { constant: [2, 4, 5] },
  },
  {
    name: "constant 2-D left operand broadcast over the batch",
    a: { constant: [5, 3] },
    b: [2, 3, 4],
  },
  { name: "1-D constant right operand", a: [3, 4], b: { constant: [4] } },
  { name: "1-D constant left operand", a: { constant: [3] }, b: [3, 4] },
];

for (const c of cases) {
  test(`MatMul gradient matches finite differences: ${c.name}`, async (t) => {
    const operand = (o: number[] | { constant: number[] }, name: string) =>
      Array.isArray(o)
        ? { input: { name, dims: o } }
        : { constant: { name, dims: o.constant, data: weights(o.constant, 3) } };
    const a = operand(c.a, "a");
    const b = operand(c.b, "b");
    const model = buildModel({
      inputs: [a.input, b.input].filter((i) => i !== undefined),
      constants: [a.constant, b.constant].filter((k) => k !== undefined),
      nodes: [{ op: "MatMul", inputs: ["a", "b"], outputs: ["y"] }],
      outputs: ["y"],
    });
    await assertGradients(t, model, 1e-4, { eps });
  });
}

test("MatMul gradient matches finite differences: x @ x (both operands one value)", async (t) => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [3, 3] }],
    nodes: [{ op: "MatMul", inputs: ["x", "x"], outputs: ["y"] }],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4, { eps });
});
