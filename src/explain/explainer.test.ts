// The explain service's NaN handling: a NonFiniteError from smoothing variants names the images
// the variants came from, and `stream` lets an image whose values turn NaN fail alone. Its
// batching: maps do not depend on the inputs per session run, which the explanation reports.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildModel } from "../compiler/testing/graph.ts";
import { Engine } from "../engine/engine.ts";
import { openModel } from "../io/models.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import { NonFiniteError } from "../util/finite.ts";
import { createRng } from "../util/random.ts";
import { Explainer } from "./explainer.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

const [C, H, W] = [3, 4, 4];
const SIZE = C * H * W;

// Occlusion needs no gradient (the compiler has no rule for Log); occluded pixels are 1, log 0.
const OCCLUSION = { name: "occlusion", options: { window: 2, stride: 2, value: 1 } };

/** logits = W log(x) + b: finite for positive inputs, NaN as soon as one value is negative. */
function logModel(): ModelRuntime {
  const model = buildModel({
    inputs: [{ name: "input", dims: [C, H, W] }],
    constants: [
      {
        name: "W",
        dims: [2, SIZE],
        data: Float32Array.from({ length: 2 * SIZE }, (_, i) => i % 3),
      },
      { name: "b", dims: [2], data: Float32Array.of(0, 1) },
    ],
    nodes: [
      { op: "Log", inputs: ["input"], outputs: ["log"] },
      { op: "Flatten", inputs: ["log"], outputs: ["flat"] },
      { op: "Gemm", inputs: ["flat", "W", "b"], outputs: ["logits"], attrs: { transB: 1 } },
    ],
    outputs: ["logits"],
  });
  const card = {
    name: "log",
    labels: ["a", "b"],
    preprocessing: { size: [H, W] as [number, number], resize: "stretch" as const },
  };
  return new ModelRuntime({ model, card, bundled: false }, engine);
}

test("NaN in noise-smoothing variants names the images they came from", async () => {
  // Image 0 is constant (its value range, and so its noise, is 0); image 1 varies, so its noisy
  // copies go negative and their logits are NaN. Its 4 copies are variant rows 4..7.
  const data = new Float32Array(2 * SIZE);
  data.fill(2, 0, SIZE);
  for (let j = 0; j < SIZE; j++) data[SIZE + j] = 0.1 + j / SIZE;
  await assert.rejects(
    new Explainer(logModel()).explain(
      { data, dims: [2, C, H, W] },
      { methods: [OCCLUSION], noiseSmooth: { samples: 4, noise: 1 } },
    ),
    (e: unknown) =>
      e instanceof NonFiniteError &&
      e.images.join() === "1" &&
      /\(noise smoothing\)/.test(e.what) &&
      /logits/.test(e.what),
  );
});

test("stream: an image whose logits are NaN fails alone; its batch is explained without it", async () => {
  const rgb = (value: number) => ({
    width: W,
    height: H,
    data: new Uint8Array(H * W * 3).fill(value),
  });
  // Byte 0 preprocesses to 0, whose log is -Inf; the zero weights make 0 x -Inf = NaN logits.
  const items = [
    { name: "bright", rgb: rgb(200) },
    { name: "black", rgb: rgb(0) },
    { name: "grey", rgb: rgb(100) },
  ];
  const batches = [];
  for await (const batch of new Explainer(logModel()).stream(
    { items, load: async (item) => item.rgb, name: (item) => item.name },
    { methods: [OCCLUSION] },
    { batchSize: 3 },
  )) {
    batches.push(batch);
  }
  assert.equal(batches.length, 1);
  const [batch] = batches;
  assert.deepEqual(
    batch!.images.map((i) => i.item.name),
    ["bright", "grey"],
  );
  assert.deepEqual(
    batch!.failed.map((f) => [f.index, f.error]),
    [[1, `Cannot explain "black": the logits of model "test-graph" hold NaN`]],
  );
  assert.equal(batch!.explanation!.results[0]!.map.dims[0], 2);
});

test("maps are bitwise identical whatever the inputs per run; the explanation reports the batch", async () => {
  const rt = await openModel("synth-resnet", engine);
  const dims = [2, ...rt.input.dims.slice(1)];
  const rng = createRng(3);
  const input = {
    data: Float32Array.from({ length: dims.reduce((a, b) => a * b) }, rng.normal),
    dims,
  };
  const request = {
    methods: [
      { name: "ig", options: { steps: 10 } },
      { name: "smoothgrad", options: { samples: 5 } },
      { name: "rise", options: { masks: 12 } },
      { name: "occlusion", options: { window: 16, stride: 16 } },
      "scorecam",
    ],
  };
  const explainer = new Explainer(rt);
  const automatic = await explainer.explain(input, request);
  const plan = await rt.batchPlan();
  assert.deepEqual(automatic.batch, plan);
  assert.ok(plan.automatic && plan.size > 3, `${plan.size}`);
  for (const batchSize of [1, 3]) {
    const e = await explainer.explain(input, { ...request, batchSize });
    assert.equal(e.batch.size, batchSize);
    assert.equal(e.batch.automatic, false);
    e.results.forEach((r, i) => {
      const want = automatic.results[i]!;
      assert.deepEqual(r.raw[0]!.data, want.raw[0]!.data, `${r.method.name}, batch ${batchSize}`);
      assert.deepEqual(r.map.data, want.map.data, `${r.method.name}, batch ${batchSize}`);
    });
  }
});
