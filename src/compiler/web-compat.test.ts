// The subgraphs the compiler appends must run in onnxruntime-web (WASM) as in onnxruntime-node:
// every reference architecture and single-op graphs that reach the rules' rarer code paths run in
// both runtimes (onnxruntime-web runs under Node here) and must agree within 1e-4 relative, the
// bound the PyTorch references use (the WASM and native kernels round differently: the deepest
// squeeze-excitation net differs by about 1e-5).
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as web from "onnxruntime-web";
import { Engine, Tensor } from "../engine/engine.ts";
import type { AttrValue } from "../onnx/attributes.ts";
import { OnnxModel } from "../onnx/model.ts";
import { type ModelInput } from "../onnx/shapes.ts";
import { createRng } from "../util/random.ts";
import { compileBackward } from "./compile.ts";
import { exactGradient } from "./rules/index.ts";
import { singleOp } from "./testing/graph.ts";
import { sizeOf } from "../tensor/tensor.ts";
import { inferShapes } from "../engine/probe.ts";
import { readOnnxModel } from "../io/models.ts";

web.env.wasm.numThreads = 1;
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

function inputsOf(model: OnnxModel): ModelInput[] {
  return model.inputs().map((v) => ({
    name: v.name,
    dims: [1, ...(v.type?.tensor_type?.shape?.dim ?? []).slice(1).map((d) => d.dim_value ?? 1)],
  }));
}

/** max |web - node| / max |node| over every gradient output, for a batch of 2. */
async function webVsNode(model: OnnxModel, wrtExtra: string[] = []): Promise<number> {
  const engine = new Engine();
  try {
    const inputs = inputsOf(model);
    const shapes = await inferShapes(model, engine, inputs);
    const wrt = [...inputs.map((i) => i.name), ...wrtExtra];
    const compiled = compileBackward(model, shapes, { wrt, ruleSet: exactGradient });
    const rng = createRng(5);
    const feeds: [string, number[], Float32Array][] = inputs.map((i) => {
      const dims = [2, ...i.dims.slice(1)];
      return [i.name, dims, Float32Array.from({ length: sizeOf(dims) }, () => rng.normal())];
    });
    const seedDims = [2, ...compiled.outputDims.slice(1)];
    feeds.push([
      compiled.seed,
      seedDims,
      Float32Array.from({ length: sizeOf(seedDims) }, () => rng.normal()),
    ]);
    const nodeOut = await (
      await engine.session(compiled.model)
    ).run(Object.fromEntries(feeds.map(([n, d, v]) => [n, new Tensor("float32", v, d)])));
    const session = await web.InferenceSession.create(compiled.model.toBytes(), {
      executionProviders: ["wasm"],
    });
    const webOut = await session.run(
      Object.fromEntries(feeds.map(([n, d, v]) => [n, new web.Tensor("float32", v, d)])),
    );
    await session.release();
    let err = 0;
    let scale = 0;
    for (const name of compiled.grads.values()) {
      const a = webOut[name]!.data as Float32Array;
      const b = nodeOut[name]!.data as Float32Array;
      for (let i = 0; i < b.length; i++) {
        err = Math.max(err, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
    }
    assert.ok(scale > 0, "all gradients are zero");
    return err / scale;
  } finally {
    await engine.dispose();
  }
}

for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith(".onnx"))) {
  test(`compiled gradients of ${file} run in onnxruntime-web as in onnxruntime-node`, async () => {
    const model = await readOnnxModel(join(FIXTURES, file));
    const error = await webVsNode(model, ["act"]);
    assert.ok(error < 1e-4, `relative difference ${error}`);
  });
}

const w = (n: number) => ({
  name: "w",
  dims: [n, 2, 3, 3],
  data: Float32Array.from({ length: n * 18 }, (_, i) => Math.sin(i)),
});
const rarePaths: [string, OnnxModel][] = [
  [
    "Conv through ConvTranspose (pads beyond the kernel reach)",
    singleOp("Conv", [2, 5, 5], { pads: [2, 2, 2, 2] }, [w(2)]),
  ],
  [
    "MaxPool with ceil_mode and pads",
    singleOp("MaxPool", [2, 7, 7], {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      ceil_mode: 1,
    }),
  ],
  [
    "AveragePool excluding pads",
    singleOp("AveragePool", [2, 7, 7], {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    }),
  ],
  ["GlobalMaxPool", singleOp("GlobalMaxPool", [3, 4, 5])],
  ["Softmax", singleOp("Softmax", [6], { axis: 1 })],
  ["HardSwish", singleOp("HardSwish", [3, 4, 4], {}, [], 14)],
  ["Erf", singleOp("Erf", [8])],
  ["Transpose", singleOp("Transpose", [2, 3, 4], { perm: [0, 3, 1, 2] })],
  ["LeakyRelu", singleOp("LeakyRelu", [8], { alpha: { float: 0.1 } } as Record<string, AttrValue>)],
  [
    "LayerNormalization (opset 17)",
    singleOp(
      "LayerNormalization",
      [4, 6],
      {},
      [{ name: "s", dims: [6], data: [1, 2, 3, 1, 2, 3] }],
      17,
    ),
  ],
  ["Gelu, tanh form (opset 20)", singleOp("Gelu", [8], { approximate: "tanh" }, [], 20)],
  ["Pow", singleOp("Pow", [8], {}, [{ name: "e", dims: [], data: [3] }])],
  [
    "LRN",
    singleOp("LRN", [5, 2, 2], { size: 3, alpha: { float: 2 }, beta: { float: 0.75 } } as Record<
      string,
      AttrValue
    >),
  ],
  ["Tile", singleOp("Tile", [3, 2], {}, [{ name: "r", dims: [3], data: [1, 2, 3], int64: true }])],
  ["LogSoftmax", singleOp("LogSoftmax", [6], { axis: 1 })],
  [
    "ReduceL2 (opset 18, axes input)",
    singleOp(
      "ReduceL2",
      [3, 4],
      { keepdims: 0 },
      [{ name: "a", dims: [1], data: [2], int64: true }],
      18,
    ),
  ],
  [
    "Gather of repeated indices",
    singleOp("Gather", [5, 2], { axis: 1 }, [
      { name: "i", dims: [3], data: [4, 0, 4], int64: true },
    ]),
  ],
];
for (const [name, model] of rarePaths) {
  test(`compiled gradient runs in onnxruntime-web as in onnxruntime-node: ${name}`, async () => {
    const error = await webVsNode(model);
    assert.ok(error < 1e-4, `relative difference ${error}`);
  });
}
