import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { Engine, Tensor } from "./engine.ts";
import { runtime as nodeRuntime } from "./ort-node.ts";
import type { OrtRuntime } from "./runtime.ts";

const code = (c: string, pattern: RegExp) => (error: unknown) =>
  error instanceof CamscopeError && error.code === c && pattern.test(error.message);

test("engine options out of range are refused up front (a chunk of 0 would never advance)", () => {
  for (const chunkSize of [0, -1, 1.5, NaN, "8"]) {
    assert.throws(
      () => new Engine({ chunkSize: chunkSize as number }),
      code("INVALID_ARGUMENT", /^Engine option chunkSize must be an integer, at least 1, got /),
    );
  }
  const cores = availableParallelism();
  assert.throws(
    () => new Engine({ threads: cores + 1 }),
    code("INVALID_ARGUMENT", new RegExp(`threads .*must be an integer from 1 to ${cores}, got`)),
  );
  assert.equal(new Engine({ threads: cores + 1, forceThreads: true }).options.threads, cores + 1);
  assert.throws(
    () => new Engine({ optimization: "max" as "all" }),
    code("INVALID_ARGUMENT", /optimization must be one of: disabled, basic, extended, all/),
  );
});

test("the threads cap is the cores of the engine's binding (a page's, for onnxruntime-web)", () => {
  const twoCores: OrtRuntime = { ...nodeRuntime, cores: () => 2 };
  assert.throws(
    () => new Engine({ runtime: twoCores, threads: 3 }),
    code(
      "INVALID_ARGUMENT",
      /threads \(2 cores; forceThreads to exceed\) must be an integer from 1 to 2/,
    ),
  );
  assert.equal(new Engine({ runtime: twoCores, threads: 2 }).runtime, twoCores);
  for (const runtime of [null, {}, "onnxruntime-web"]) {
    assert.throws(
      () => new Engine({ runtime: runtime as unknown as OrtRuntime }),
      code("INVALID_ARGUMENT", /^Engine option runtime must be an ONNX Runtime binding/),
    );
  }
});

test("idle threads sleep unless spinning is asked for; the node binding opens both ways", async () => {
  const seen: boolean[] = [];
  const recording: OrtRuntime = {
    ...nodeRuntime,
    createSession: (model, bytes, settings) => {
      seen.push(settings.spinning);
      return nodeRuntime.createSession(model, bytes, settings);
    },
  };
  const model = tinyClassifier({ classes: 3 });
  const input = new Tensor("float32", new Float32Array(3 * 16 * 16), [1, 3, 16, 16]);
  for (const spinning of [undefined, false, true]) {
    const engine = new Engine({
      runtime: recording,
      threads: 1,
      ...(spinning === undefined ? {} : { spinning }),
    });
    try {
      const results = await (await engine.session(model)).run({ input });
      assert.equal(Object.keys(results).length, 1);
    } finally {
      await engine.dispose();
    }
  }
  assert.deepEqual(seen, [false, false, true]);
  for (const spinning of [1, "yes", null]) {
    assert.throws(
      () => new Engine({ spinning: spinning as unknown as boolean }),
      code("INVALID_ARGUMENT", /^Engine option spinning must be true or false, got /),
    );
  }
});

test("runBatched refuses a chunk size of 0; ONNX Runtime errors name the model", async () => {
  const engine = new Engine({ threads: 1 });
  try {
    const session = await engine.session(tinyClassifier({ classes: 3 }));
    const input = new Tensor("float32", new Float32Array(2 * 3 * 16 * 16), [2, 3, 16, 16]);
    await assert.rejects(
      session.runBatched({ input }, undefined, 0),
      /chunkSize must be an integer/,
    );
    const wrong = new Tensor("float32", new Float32Array(3 * 8 * 8), [1, 3, 8, 8]);
    await assert.rejects(
      session.run({ input: wrong }),
      code("MODEL_RUN", /^ONNX Runtime failed running model "tiny": .*dimensions/),
    );
  } finally {
    await engine.dispose();
  }
});

test("a disposed engine and its sessions say so instead of failing obscurely", async () => {
  const engine = new Engine({ threads: 1 });
  const model = tinyClassifier({ classes: 3 });
  const session = await engine.session(model);
  await engine.dispose();
  const input = new Tensor("float32", new Float32Array(3 * 16 * 16), [1, 3, 16, 16]);
  await assert.rejects(session.run({ input }), code("DISPOSED", /was disposed/));
  assert.throws(() => engine.session(model), code("DISPOSED", /make a new Engine/));
});
