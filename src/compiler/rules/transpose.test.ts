import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

for (const [name, x, perm] of [
  ["NCHW to NHWC", [3, 4, 5], [0, 2, 3, 1]],
  ["NHWC to NCHW", [4, 5, 3], [0, 3, 1, 2]],
  ["swap of the last two axes", [3, 4, 5], [0, 1, 3, 2]],
  ["3-D", [3, 4], [0, 2, 1]],
] as const) {
  test(`Transpose gradient matches finite differences: ${name}`, async (t) => {
    await assertGradients(t, singleOp("Transpose", [...x], { perm: [...perm] }), 1e-4);
  });
}
