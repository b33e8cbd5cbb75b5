import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

function concatModel(inputs: { name: string; dims: number[] }[], axis: number) {
  return buildModel({
    inputs,
    nodes: [{ op: "Concat", inputs: inputs.map((i) => i.name), outputs: ["y"], attrs: { axis } }],
    outputs: ["y"],
  });
}

test("Concat gradient matches finite differences: channels of three inputs", async (t) => {
  const model = concatModel(
    [
      { name: "a", dims: [2, 3, 4] },
      { name: "b", dims: [3, 3, 4] },
      { name: "c2", dims: [1, 3, 4] },
    ],
    1,
  );
  await assertGradients(t, model, 1e-4);
});

test("Concat gradient matches finite differences: negative axis", async (t) => {
  const model = concatModel(
    [
      { name: "a", dims: [2, 3, 4] },
      { name: "b", dims: [2, 3, 1] },
    ],
    -1,
  );
  await assertGradients(t, model, 1e-4);
});

test("Concat along the batch axis is refused", async () => {
  const model = buildModel({
    inputs: [{ name: "a", dims: [2] }],
    nodes: [{ op: "Concat", inputs: ["a", "a"], outputs: ["y"], attrs: { axis: 0 } }],
    outputs: ["y"],
  });
  await assert.rejects(
    vjpAt(model, new Float32Array(2)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Concat_0".*batch axis/.test(e.message),
  );
});
