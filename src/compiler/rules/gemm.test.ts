import { test } from "node:test";
import { createRng } from "../../util/random.ts";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel, type GraphSpec } from "../testing/graph.ts";
import { sizeOf } from "../../tensor/tensor.ts";

// Gemm is linear in each operand, so central differences are exact for any eps up to float32
// rounding of the outputs, which a large eps (1/16) divides down: relative error well under 1e-4.
// Graph inputs carry the batch on axis 0, so a live A read transposed (transA = 1) or a live B
// (whose rows are contracted) must be [K, N]: a first Gemm E x^T makes one.

const eps = 1 / 16;
const K = 4;
const M = 3;
const P = 5;

function constant(
  name: string,
  dims: number[],
  seed: number,
): NonNullable<GraphSpec["constants"]>[number] {
  const rng = createRng(seed);
  return {
    name,
    dims,
    data: Float32Array.from({ length: sizeOf(dims) }, () => rng.normal() * 0.5),
  };
}

for (const transB of [0, 1]) {
  for (const [cName, cDims] of [
    ["C [P]", [P]],
    ["C [1, P]", [1, P]],
  ] as const) {
    test(`Gemm gradient matches finite differences: transA 0, transB ${transB}, alpha, beta, ${cName}`, async (t) => {
      const model = buildModel({
        inputs: [{ name: "x", dims: [K] }],
        constants: [constant("w", transB ? [P, K] : [K, P], 1), constant("c", [...cDims], 2)],
        nodes: [
          {
            op: "Gemm",
            inputs: ["x", "w", "c"],
            outputs: ["y"],
            attrs: { transB, alpha: { float: 0.5 }, beta: { float: 2 } },
          },
        ],
        outputs: ["y"],
      });
      await assertGradients(t, model, 1e-4, { eps });
    });
  }
}

for (const [name, cDims] of [
  ["[N, P]", [P]],
  ["[N, 1], broadcast along columns", [1]],
] as const) {
  test(`Gemm gradient matches finite differences: live C ${name}, beta -1.5`, async (t) => {
    const model = buildModel({
      inputs: [
        { name: "x", dims: [K] },
        { name: "c", dims: [...cDims] },
      ],
      constants: [constant("w", [K, P], 1)],
      nodes: [
        { op: "Gemm", inputs: ["x", "w", "c"], outputs: ["y"], attrs: { beta: { float: -1.5 } } },
      ],
      outputs: ["y"],
    });
    await assertGradients(t, model, 1e-4, { eps });
  });
}

// x [N, K] -> t = E x^T [K, N] (B read transposed) -> u = op(F) op(B) [M, N] with B = t, or x read
// transposed -> y = u^T op(W) + C [N, P] (A read transposed). Together with the single-node tests
// this covers both operands' gradients under all four transA/transB combinations.
for (const transA of [0, 1]) {
  for (const transB of [0, 1]) {
    test(`Gemm gradients match finite differences: live B with transA ${transA}, transB ${transB}, then transA 1`, async (t) => {
      const nodes: GraphSpec["nodes"] = [];
      if (!transB)
        nodes.push({ op: "Gemm", inputs: ["e", "x"], outputs: ["t"], attrs: { transB: 1 } });
      nodes.push(
        {
          op: "Gemm",
          inputs: ["f", transB ? "x" : "t"],
          outputs: ["u"],
          attrs: { transA, transB, alpha: { float: 0.5 } },
        },
        {
          op: "Gemm",
          inputs: ["u", "w", "c"],
          outputs: ["y"],
          attrs: { transA: 1, transB, alpha: { float: 1.5 }, beta: { float: 0.5 } },
        },
      );
      const model = buildModel({
        inputs: [{ name: "x", dims: [K] }],
        constants: [
          constant("e", [K, K], 1),
          constant("f", transA ? [K, M] : [M, K], 2),
          constant("w", transB ? [P, M] : [M, P], 3),
          constant("c", [1, P], 4),
        ].filter((c) => transB === 0 || c.name !== "e"),
        nodes,
        outputs: ["y"],
      });
      await assertGradients(t, model, 1e-4, { eps });
    });
  }
}
