import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

for (const [name, x] of [
  ["2-D", [3, 5, 4]],
  ["1-D", [4, 7]],
  ["1x1 spatial", [3, 1, 1]],
] as const) {
  test(`GlobalAveragePool gradient matches finite differences: ${name}`, async (t) => {
    await assertGradients(t, singleOp("GlobalAveragePool", [...x]), 1e-4);
  });
}
