// Values whose batch is not axis 0 ([L, N, E] after a transpose, [3, N, ...] stacks of q, k and v,
// [N * heads, L, d] merged axes): the compiler learns from the batch-2 shape probe which axes
// follow the batch, so it neither refuses a gather, concatenation or reduction along an axis that
// merely sits first, nor lets one along the real batch axis silently mix samples. Every check runs
// at batch 3, where a batch axis taken for a broadcast (size-1) one would be summed or dropped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { createRng } from "../util/random.ts";
import { assertGradients, vjpAt } from "./testing/assertions.ts";
import { buildModel, type GraphSpec } from "./testing/graph.ts";
import { sizeOf } from "../tensor/tensor.ts";
import { inferShapes } from "../engine/probe.ts";

function weights(dims: number[], seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: sizeOf(dims) }, () => rng.normal() * 0.5);
}

/** x [N, 4, 6] tokens moved to [L, N, E] = [4, N, 6], then `nodes` from "t" to "y". */
function sequenceFirst(nodes: GraphSpec["nodes"], constants: GraphSpec["constants"] = []) {
  return buildModel({
    inputs: [{ name: "x", dims: [4, 6] }],
    constants,
    nodes: [
      { op: "Transpose", inputs: ["x"], outputs: ["t"], attrs: { perm: [1, 0, 2] } },
      ...nodes,
    ],
    outputs: ["y"],
  });
}

test("inferShapes finds the batch axis of [N, ...], [L, N, E] and merged [N * 2, ...] values", async () => {
  const model = sequenceFirst(
    [
      { op: "Reshape", inputs: ["x", "merge"], outputs: ["m"] },
      { op: "Shape", inputs: ["x"], outputs: ["s"] },
      { op: "ConstantOfShape", inputs: ["s"], outputs: ["z"] },
      { op: "Add", inputs: ["t", "one"], outputs: ["y"] },
    ],
    [
      { name: "merge", dims: [3], data: [-1, 2, 6], int64: true },
      { name: "one", dims: [], data: [1] },
    ],
  );
  const engine = new Engine();
  try {
    const shapes = await inferShapes(model, engine, { name: "x", dims: [1, 4, 6] });
    assert.deepEqual(shapes.get("m"), [2, 2, 6]);
    assert.deepEqual(
      ["x", "t", "m", "y"].map((v) => shapes.batchAxes.get(v)),
      [[0], [1], [0], [1]],
    );
  } finally {
    await engine.dispose();
  }
});

test("[L, N, E]: the first token (Gather along axis 0, not the batch) matches finite differences", async (t) => {
  const model = sequenceFirst(
    [
      { op: "Gather", inputs: ["t", "first"], outputs: ["c"], attrs: { axis: 0 } },
      { op: "MatMul", inputs: ["c", "w"], outputs: ["y"] },
    ],
    [
      { name: "first", dims: [], data: [0], int64: true },
      { name: "w", dims: [6, 3], data: weights([6, 3], 1) },
    ],
  );
  await assertGradients(t, model, 1e-4, { batch: 3 });
});

test("[L, N, E]: concatenation along axis 0 and a mean over it match finite differences", async (t) => {
  const model = sequenceFirst(
    [
      { op: "Slice", inputs: ["t", "s0", "s1", "s2"], outputs: ["head"] },
      { op: "Concat", inputs: ["t", "head"], outputs: ["c"], attrs: { axis: 0 } },
      { op: "ReduceMean", inputs: ["c"], outputs: ["y"], attrs: { axes: [0], keepdims: 0 } },
    ],
    [
      { name: "s0", dims: [1], data: [1], int64: true },
      { name: "s1", dims: [1], data: [3], int64: true },
      { name: "s2", dims: [1], data: [0], int64: true },
    ],
  );
  await assertGradients(t, model, 1e-4, { batch: 3 });
});

test("[L, N, E]: a Gather along the batch axis (axis 1) is refused, not computed across samples", async () => {
  const model = sequenceFirst(
    [{ op: "Gather", inputs: ["t", "first"], outputs: ["y"], attrs: { axis: 1 } }],
    [{ name: "first", dims: [], data: [0], int64: true }],
  );
  await assert.rejects(
    vjpAt(model, new Float32Array(3 * 24)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Gather_1".*batch axis/.test(e.message),
  );
});

test("Swin/ViT attention: q, k, v taken along axis 0 of [3, N, heads, L, d], softmax(q k^T) v", async (t) => {
  // x [N, L=4, 6] -> Linear to 3 * 2 heads * d=3 -> [N, 4, 3, 2, 3] -> [3, N, 2, 4, 3].
  const model = buildModel({
    inputs: [{ name: "x", dims: [4, 6] }],
    constants: [
      { name: "w", dims: [6, 18], data: weights([6, 18], 2) },
      { name: "split", dims: [5], data: [0, 4, 3, 2, 3], int64: true },
      ...[0, 1, 2].map((k) => ({ name: `i${k}`, dims: [], data: [k], int64: true })),
      { name: "merge", dims: [3], data: [0, 4, 6], int64: true },
    ],
    nodes: [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["p"] },
      { op: "Reshape", inputs: ["p", "split"], outputs: ["r"] },
      { op: "Transpose", inputs: ["r"], outputs: ["qkv"], attrs: { perm: [2, 0, 3, 1, 4] } },
      ...[0, 1, 2].map((k) => ({
        op: "Gather",
        inputs: ["qkv", `i${k}`],
        outputs: [["q", "k", "v"][k]!],
        attrs: { axis: 0 },
      })),
      { op: "Transpose", inputs: ["k"], outputs: ["kT"], attrs: { perm: [0, 1, 3, 2] } },
      { op: "MatMul", inputs: ["q", "kT"], outputs: ["scores"] },
      { op: "Softmax", inputs: ["scores"], outputs: ["a"], attrs: { axis: -1 } },
      { op: "MatMul", inputs: ["a", "v"], outputs: ["o"] },
      { op: "Transpose", inputs: ["o"], outputs: ["ot"], attrs: { perm: [0, 2, 1, 3] } },
      { op: "Reshape", inputs: ["ot", "merge"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  // Smooth and not elementwise, as Softmax alone (softmax.test.ts): the same 2e-4.
  await assertGradients(t, model, 2e-4, { batch: 3 });
});
