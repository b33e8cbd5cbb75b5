import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { buildModel, type GraphSpec } from "../testing/graph.ts";

// Add, Sub and Mul are linear in each operand (Mul bilinear): central differences are exact up to
// float32 rounding. Div is smooth in its divisor, kept at |b| >= 1: per unit of cotangent the
// central difference of a/b errs by eps^2 |a| / |b|^4 (truncation, <= 1.5e-5 relative to the
// derivative |a| / b^2 at eps = 1/256) plus about 2^-24 |y| / eps (float32 rounding, ~1.5e-5 for
// |y| <= 1). The graphs through exp(mean over space) are smooth with tame derivatives at
// eps = 1/256 (measured about 2e-5). 1e-4 holds for all with a margin.
const maxError = 1e-4;
const dims = [3, 4, 4];
const channel = [3, 1, 1];

/** Spaced values pushed away from 0: |v| in [1 + 1/16, 2.6]. */
function awayFromZero(n: number, seed: number): Float32Array {
  return Float32Array.from(spacedValues(n, seed), (v) => v + Math.sign(v));
}

function binary(op: string, spec: Omit<GraphSpec, "nodes" | "outputs">, a: string, b: string) {
  return buildModel({ ...spec, nodes: [{ op, inputs: [a, b], outputs: ["y"] }], outputs: ["y"] });
}

const c = { name: "c", dims: channel, data: [0.5, -1.25, 2] };
const scalar = { name: "k", dims: [], data: [-1.5] };

for (const op of ["Add", "Sub", "Mul", "Div"]) {
  const divides = op === "Div";
  test(`${op} gradient matches finite differences: [N, C, H, W] ${op} constant [C, 1, 1]`, async (t) => {
    await assertGradients(
      t,
      binary(op, { inputs: [{ name: "x", dims }], constants: [c] }, "x", "c"),
      maxError,
    );
  });

  test(`${op} gradient matches finite differences: constant [C, 1, 1] ${op} [N, C, H, W]`, async (t) => {
    const model = binary(op, { inputs: [{ name: "x", dims }], constants: [c] }, "c", "x");
    const data = divides ? { x: awayFromZero(2 * 48, 1) } : undefined;
    await assertGradients(t, model, maxError, data ? { data } : {});
  });

  test(`${op} gradient matches finite differences: [N, C, H, W] ${op} [N, C, 1, 1], both live`, async (t) => {
    const model = binary(
      op,
      {
        inputs: [
          { name: "x", dims },
          { name: "s", dims: channel },
        ],
      },
      "x",
      "s",
    );
    const data = divides ? { x: spacedValues(2 * 48, 1), s: awayFromZero(2 * 3, 2) } : undefined;
    await assertGradients(t, model, maxError, data ? { data } : {});
  });

  test(`${op} gradient matches finite differences: scalar constant on either side`, async (t) => {
    const inputs = [{ name: "x", dims }];
    await assertGradients(t, binary(op, { inputs, constants: [scalar] }, "x", "k"), maxError);
    const data = divides ? { x: awayFromZero(2 * 48, 1) } : undefined;
    await assertGradients(
      t,
      binary(op, { inputs, constants: [scalar] }, "k", "x"),
      maxError,
      data ? { data } : {},
    );
  });

  test(`${op} gradient matches finite differences: x ${op} exp(mean over space of x), both from x`, async (t) => {
    // x reaches y directly and through the per-channel [N, C, 1, 1] factor: two contributions.
    const model = buildModel({
      inputs: [{ name: "x", dims }],
      nodes: [
        { op: "GlobalAveragePool", inputs: ["x"], outputs: ["m"] },
        { op: "Exp", inputs: ["m"], outputs: ["e"] },
        { op, inputs: ["x", "e"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    await assertGradients(t, model, maxError);
  });
}
