import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

for (const [name, x, shape] of [
  ["per-channel values to a feature map", [3, 1, 1], [1, 3, 4, 5]],
  ["a shorter shape, broadcast from the right", [3, 1, 5], [4, 1]],
  ["size-1 axes kept", [1, 4], [1, 3, 1]],
] as const) {
  test(`Expand gradient matches finite differences: ${name}`, async (t) => {
    const model = singleOp("Expand", [...x], {}, [
      { name: "shape", dims: [shape.length], data: [...shape], int64: true },
    ]);
    await assertGradients(t, model, 1e-4);
  });
}
