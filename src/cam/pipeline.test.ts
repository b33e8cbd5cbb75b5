// The CAM pipeline's guards: options checked before any run, NaN and Inf named per image (also
// through the explain service's test-time augmentation, whose variant rows are named by the images
// they came from).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { Explainer } from "../explain/explainer.ts";
import { camInstances } from "../methods/testing/instances.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { floatTensor } from "../onnx/tensor.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import { NonFiniteError } from "../util/finite.ts";
import type { CamMethod } from "./method.ts";
import { camExplain } from "./testing/runs.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

function context(bias?: Float32Array): ModelRuntime {
  const model = tinyClassifier({ classes: 3 });
  if (bias) {
    const graph = model.proto.graph;
    graph.initializer = graph.initializer.map((t) =>
      t.name === "fc.bias" ? floatTensor("fc.bias", [3], bias) : t,
    );
  }
  const card = {
    name: "tiny",
    labels: ["a", "b", "c"],
    preprocessing: { size: [16, 16] as [number, number], resize: "stretch" as const },
  };
  return new ModelRuntime({ model, card, bundled: false }, engine);
}

/** CAM methods of the registry by name (its instances at default options). */
function resolveMethods(ctx: ModelRuntime, names: readonly string[]): CamMethod[] {
  const all = camInstances(ctx.model);
  return names.map((name) => all.find((m) => m.name === name)!);
}

const images = {
  data: Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i)),
  dims: [2, 3, 16, 16],
};

test("options out of range or of the wrong type are CamscopeErrors naming the option", async () => {
  const ctx = context();
  const explainer = { explain: camExplain.bind(undefined, ctx) };
  const [gradcam, scorecam] = resolveMethods(ctx, ["gradcam", "scorecam"]);
  for (const [options, pattern] of [
    [{ methods: [scorecam], batchSize: 0 }, /^batchSize must be an integer, at least 1, got 0$/],
    [{ methods: [gradcam], target: { topK: -1 } }, /^target topK must be an integer, at least 1/],
    [{ methods: [gradcam], target: { classes: 3 } }, /^Target class 3 is out of range: .* 0 to 2$/],
    [{ methods: [gradcam], seed: 1.5 }, /^seed must be an integer, at least 0, got 1.5$/],
    [{ methods: ["gradcam"] }, /^methods\[0\] must be a CAM method object/],
    [{ methods: [gradcam], layers: "auto" }, /^layers must be an array/],
  ] as const) {
    await assert.rejects(
      explainer.explain(images, options as never),
      (e: unknown) => e instanceof CamscopeError && pattern.test(e.message),
    );
  }
  await assert.rejects(
    explainer.explain({ data: images.data, dims: [2, 3, 32, 8] }, { methods: [gradcam!] }),
    /images must be \[N, 3, 16, 16\] for input "input" of model "tiny", got \[2, 3, 32, 8\]/,
  );
});

test("NaN or Inf logits throw a NonFiniteError naming the images, also through aug-smooth", async () => {
  const ctx = context(Float32Array.of(0, NaN, Infinity));
  const methods = resolveMethods(ctx, ["gradcam"]);
  const named = (e: unknown) =>
    e instanceof NonFiniteError &&
    e.code === "NON_FINITE" &&
    e.images.join() === "0,1" &&
    e.found === "NaN";
  await assert.rejects(camExplain(ctx, images, { methods }), named);
  await assert.rejects(
    new Explainer(ctx).explain(images, { methods: ["gradcam"], augSmooth: true }),
    named,
  );
});
