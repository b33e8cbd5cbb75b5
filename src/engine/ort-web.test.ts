// The onnxruntime-web binding under Node (onnxruntime-web's Node build runs the same WASM): the
// same Engine surface, CAM maps equal to onnxruntime-node's, and the WebGPU decision (agreement
// check, fallbacks) on fake sessions, since no WebGPU runs here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { Explainer } from "../explain/explainer.ts";
import { preprocess } from "../image/preprocess.ts";
import { decodeImage } from "../io/images.ts";
import { openModel } from "../io/models.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { Engine, Tensor } from "./engine.ts";
import {
  backendChoices,
  chooseSession,
  probeFeeds,
  relativeDifference,
  runtime as web,
  type WebBackend,
} from "./ort-web.ts";
import type { OrtSession, OrtTensor } from "./runtime.ts";

test("an Engine on onnxruntime-web gives onnxruntime-node's Grad-CAM and Score-CAM maps", async () => {
  const node = new Engine({ threads: 1 });
  const browser = new Engine({ runtime: web });
  try {
    const maps = await Promise.all(
      [node, browser].map(async (engine) => {
        const rt = await openModel("synth-resnet", engine);
        const image = await decodeImage("samples/star.png");
        const { tensor, dims } = preprocess([image], rt.card.preprocessing);
        const result = await new Explainer(rt).explain(
          { data: tensor, dims },
          { methods: ["gradcam", "scorecam"] },
        );
        return result.results.map((r) => r.map.data);
      }),
    );
    for (let m = 0; m < 2; m++) {
      const [a, b] = [maps[0]![m]!, maps[1]![m]!];
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      assert.ok(worst <= 1e-5, `method ${m}: max difference ${worst}`);
    }
    // Under Node there is no WebGPU: every session fell back to WASM and says why.
    const choices = backendChoices();
    assert.ok(choices.length > 0);
    for (const c of choices) {
      assert.equal(c.backend, "wasm");
      assert.match(c.reason, /no WebGPU/);
    }
  } finally {
    await Promise.all([node.dispose(), browser.dispose()]);
  }
});

test("onnxruntime-web runs batched and fixed-chunk runs with tensors of either binding", async () => {
  const engine = new Engine({ runtime: web, chunkSize: 2 });
  try {
    const session = await engine.session(tinyClassifier({ classes: 3 }));
    const data = Float32Array.from({ length: 5 * 3 * 16 * 16 }, (_, i) => Math.sin(i));
    const whole = await session.run({ input: new Tensor("float32", data, [5, 3, 16, 16]) });
    const chunked = await session.runBatched({
      input: new web.Tensor("float32", data, [5, 3, 16, 16]),
    });
    assert.deepEqual(chunked.output!.dims, [5, 3]);
    assert.deepEqual(chunked.output!.data, whole.output!.data);
  } finally {
    await engine.dispose();
  }
});

test("onnxruntime-web refuses providers it does not have, naming them", async () => {
  const engine = new Engine({ runtime: web, executionProviders: ["cuda", "wasm"] });
  try {
    await assert.rejects(
      engine.session(tinyClassifier({ classes: 3 })),
      (e: unknown) =>
        e instanceof CamscopeError && /runs on "webgpu" or "wasm", not "cuda"/.test(e.message),
    );
  } finally {
    await engine.dispose();
  }
});

/** A fake session whose every output is `value` (or which fails), recording its release. */
function fakeSession(values: Float32Array | Error, log: string[], name: string): OrtSession {
  return {
    run: async () => {
      if (values instanceof Error) throw values;
      return { y: new Tensor("float32", values, [values.length]) };
    },
    release: async () => {
      log.push(`release ${name}`);
    },
  } as unknown as OrtSession;
}

test("WebGPU is used only where it agrees with WASM; otherwise WASM, saying why", async () => {
  const wasmOut = Float32Array.from([1, -2, 4]);
  const cases: [string, Float32Array | Error, string | undefined, WebBackend, RegExp][] = [
    ["agrees", Float32Array.from([1, -2, 4.0002]), undefined, "webgpu", /agrees .*5\.0e-5/],
    ["disagrees", Float32Array.from([1, -2, 4.01]), undefined, "wasm", /disagrees .*2\.5e-3/],
    ["fails", new Error("GPU device lost\nstack"), undefined, "wasm", /failed .*device lost$/],
    ["absent", wasmOut, "no WebGPU adapter", "wasm", /^no WebGPU adapter$/],
  ];
  for (const [name, gpuOut, unavailable, backend, reason] of cases) {
    const log: string[] = [];
    const opened: WebBackend[] = [];
    const choice = await chooseSession(
      async (b) => {
        opened.push(b);
        return fakeSession(b === "wasm" ? wasmOut : gpuOut, log, b);
      },
      {},
      unavailable,
    );
    assert.equal(choice.backend, backend, name);
    assert.match(choice.reason, reason, name);
    // An unavailable GPU is never opened; a WebGPU session that is not chosen is released, and
    // one that is keeps its WASM twin open (where runs go if the GPU fails later).
    if (unavailable) assert.deepEqual(opened, ["wasm"], name);
    else if (backend === "wasm") assert.deepEqual(log, ["release webgpu"], name);
    else {
      assert.deepEqual(log, [], name);
      assert.ok(choice.wasm, name);
    }
  }
});

test("relativeDifference: NaN, missing outputs and non-zero against zeros never agree", () => {
  const t = (...v: number[]): OrtTensor => new Tensor("float32", Float32Array.from(v), [v.length]);
  assert.equal(relativeDifference({ y: t(1, 2) }, { y: t(1, 2) }), 0);
  assert.equal(relativeDifference({ y: t(0, 0) }, { y: t(0, 0) }), 0);
  assert.equal(relativeDifference({ y: t(0, 0) }, { y: t(0, 1e-9) }), Infinity);
  assert.equal(relativeDifference({ y: t(1, 2) }, { y: t(1, NaN) }), Infinity);
  assert.equal(relativeDifference({ y: t(1, 2) }, { z: t(1, 2) }), Infinity);
  assert.equal(relativeDifference({ y: t(1, 2) }, { y: t(1, 2, 3) }), Infinity);
});

test("probe feeds: seeded values for float inputs, symbolic dims as 1", () => {
  const model = tinyClassifier({ classes: 3 });
  const a = probeFeeds(model);
  const b = probeFeeds(model);
  assert.deepEqual(a.input!.dims, [1, 3, 16, 16]);
  assert.deepEqual(a.input!.data, b.input!.data);
  assert.ok((a.input!.data as Float32Array).some((v) => v !== 0));
});
