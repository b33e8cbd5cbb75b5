import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine, Tensor } from "../../engine/engine.ts";
import { createRng } from "../../util/random.ts";
import { buildModel } from "../testing/graph.ts";
import { foldBatchNorm } from "./canonize.ts";
import { loadModel } from "../../io/models.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

async function run(model: Parameters<Engine["session"]>[0], x: Float32Array, dims: number[]) {
  const session = await engine.session(model);
  const output = model.outputs()[0]!.name;
  const out = await session.run({ x: new Tensor("float32", x, dims) });
  return out[output]!.data as Float32Array;
}

function values(n: number, seed: number, offset = 0): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => offset + rng.normal() * 0.5);
}

const bn = (prefix: string, c: number, seed: number) => [
  { name: `${prefix}_g`, dims: [c], data: values(c, seed) },
  { name: `${prefix}_b`, dims: [c], data: values(c, seed + 1) },
  { name: `${prefix}_m`, dims: [c], data: values(c, seed + 2) },
  { name: `${prefix}_v`, dims: [c], data: values(c, seed + 3, 1).map(Math.abs) },
];

test("folding Conv+BN and Gemm+BN keeps the outputs and removes the BatchNorms", async () => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [2, 5, 5] }],
    constants: [
      { name: "w", dims: [3, 2, 3, 3], data: values(54, 1) },
      { name: "cb", dims: [3], data: values(3, 2) },
      ...bn("bn1", 3, 10),
      { name: "shape", dims: [2], data: [0, -1], int64: true },
      { name: "fw", dims: [4, 75], data: values(300, 3) },
      { name: "fb", dims: [4], data: values(4, 4) },
      ...bn("bn2", 4, 20),
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "w", "cb"], outputs: ["c"], attrs: { pads: [1, 1, 1, 1] } },
      {
        op: "BatchNormalization",
        inputs: ["c", "bn1_g", "bn1_b", "bn1_m", "bn1_v"],
        outputs: ["n"],
        attrs: { epsilon: { float: 1e-3 } },
      },
      { op: "Relu", inputs: ["n"], outputs: ["r"] },
      { op: "Reshape", inputs: ["r", "shape"], outputs: ["f"] },
      {
        op: "Gemm",
        inputs: ["f", "fw", "fb"],
        outputs: ["g"],
        attrs: { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } },
      },
      {
        op: "BatchNormalization",
        inputs: ["g", "bn2_g", "bn2_b", "bn2_m", "bn2_v"],
        outputs: ["y"],
      },
    ],
    outputs: ["y"],
  });
  const { model: folded, folded: count } = foldBatchNorm(model);
  assert.equal(count, 2);
  assert.ok(!folded.graph.node.some((n) => n.op_type === "BatchNormalization"));
  assert.ok(
    model.graph.node.some((n) => n.op_type === "BatchNormalization"),
    "original untouched",
  );
  const x = Float32Array.from(values(2 * 50, 5));
  const before = await run(model, x, [2, 2, 5, 5]);
  const after = await run(folded, x, [2, 2, 5, 5]);
  for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i]! - after[i]!) < 1e-4);
});

test("a BatchNorm whose input is also used elsewhere stays", () => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [2, 4, 4] }],
    constants: [{ name: "w", dims: [2, 2, 1, 1], data: values(4, 1) }, ...bn("bn", 2, 5)],
    nodes: [
      { op: "Conv", inputs: ["x", "w"], outputs: ["c"] },
      { op: "BatchNormalization", inputs: ["c", "bn_g", "bn_b", "bn_m", "bn_v"], outputs: ["n"] },
      { op: "Add", inputs: ["c", "n"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  assert.equal(foldBatchNorm(model).folded, 0);
});

test("the bundled ResNet folds all its BatchNorms and predicts the same", async () => {
  const { model } = await loadModel("synth-resnet");
  const { model: folded, folded: count } = foldBatchNorm(model);
  assert.ok(count > 0);
  assert.ok(!folded.graph.node.some((n) => n.op_type === "BatchNormalization"));
  const input = model.inputs()[0]!.name;
  const dims = [2, 3, 128, 128];
  const x = Float32Array.from(values(2 * 3 * 128 * 128, 9));
  const out = async (m: typeof model) => {
    const s = await engine.session(m);
    const r = await s.run({ [input]: new Tensor("float32", x, dims) });
    return r[m.outputs()[0]!.name]!.data as Float32Array;
  };
  const a = await out(model);
  const b = await out(folded);
  const scale = Math.max(...a.map(Math.abs));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4 * scale);
});
