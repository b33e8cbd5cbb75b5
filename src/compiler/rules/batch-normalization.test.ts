import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

// Inference batch normalization is affine in x: exact up to float32 rounding.
const dims = [3, 4, 4];
const params = {
  scale: [1.5, -0.5, 0.25],
  bias: [0.1, -0.2, 0.3],
  mean: [0.2, -0.4, 1.5],
  variance: [0.5, 2, 0.01],
};
const constants = Object.entries(params).map(([name, data]) => ({ name, dims: [3], data }));

for (const opset of [11, 15]) {
  test(`BatchNormalization gradient matches finite differences: constant params, epsilon 1e-3, opset ${opset}`, async (t) => {
    await assertGradients(
      t,
      singleOp("BatchNormalization", dims, { epsilon: { float: 1e-3 } }, constants, opset),
      1e-4,
    );
  });
}

for (const opset of [11, 13]) {
  test(`BatchNormalization gradient matches finite differences: params computed at run time, opset ${opset}`, async (t) => {
    // Identity outputs are not constants to the compiler: the factor is built in the graph
    // (Sqrt, Div, Unsqueeze in its opset form).
    const model = buildModel({
      inputs: [{ name: "x", dims }],
      constants: constants.map((c) => ({ ...c, name: `${c.name}_init` })),
      nodes: [
        ...Object.keys(params).map((name) => ({
          op: "Identity",
          inputs: [`${name}_init`],
          outputs: [name],
        })),
        {
          op: "BatchNormalization",
          inputs: ["x", ...Object.keys(params)],
          outputs: ["y"],
          attrs: { epsilon: { float: 1e-3 } },
        },
      ],
      outputs: ["y"],
      opset,
    });
    await assertGradients(t, model, 1e-4);
  });
}
