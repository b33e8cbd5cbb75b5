import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

// Smooth elementwise ops: perturbing one element changes one output, so the central difference
// errs by eps^2/6 |f'''| (truncation) plus about 2^-24 |f| / eps (float32 rounding of the two
// outputs). With eps = 1/128 and the default inputs (|x| < 1.6) that is at most ~1e-5 relative
// for sigmoid, tanh and exp (|f'''| <= |f'| e^(2|x|)-ish on this range) and for sqrt on x >= 0.5
// (|f'''/f'| = 3/(4x^2)); 1e-4 leaves a margin of about ten.
const eps = 1 / 128;
const dims = [3, 4, 4];

for (const op of ["Sigmoid", "Tanh", "Exp"]) {
  test(`${op} gradient matches finite differences`, async (t) => {
    await assertGradients(t, singleOp(op, dims), 1e-4, { eps });
  });
}

test("Sqrt gradient matches finite differences (x in [0.5, 2.1])", async (t) => {
  const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => Math.abs(v) + 0.5);
  await assertGradients(t, singleOp("Sqrt", dims), 1e-4, { eps, data: { x } });
});

test("Reciprocal gradient matches finite differences (|x| in [1.06, 2.6])", async (t) => {
  // The third derivative 6 / x^4 is at most 4.4 here, against first derivatives up to 0.9.
  const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => v + Math.sign(v));
  await assertGradients(t, singleOp("Reciprocal", dims), 1e-4, { eps, data: { x } });
});

test("SiLU after ReLU: gradients of a value with two consumers are summed", async (t) => {
  // r = relu(x) feeds both the Sigmoid and the Mul: y = r * sigmoid(r).
  const model = buildModel({
    inputs: [{ name: "x", dims }],
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Sigmoid", inputs: ["r"], outputs: ["s"] },
      { op: "Mul", inputs: ["r", "s"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4, { eps });
});
