// The CAM explainer's guards: options checked before any run, NaN and Inf named per image.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { ModelContext } from "../models/context.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { floatTensor } from "../onnx/tensor.ts";
import { NonFiniteError } from "../util/finite.ts";
import { CamExplainer } from "./explainer.ts";
import { resolveMethods } from "./methods/index.ts";
import { explainSmoothed } from "./smoothing.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

function context(bias?: Float32Array): ModelContext {
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
  return new ModelContext({ model, card, bundled: false }, engine);
}

const images = {
  data: Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i)),
  dims: [2, 3, 16, 16],
};

test("options out of range or of the wrong type are CamscopeErrors naming the option", async () => {
  const ctx = context();
  const explainer = new CamExplainer(ctx);
  const [gradcam, scorecam] = resolveMethods(ctx.model, ["gradcam", "scorecam"]);
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
  const explainer = new CamExplainer(ctx);
  const methods = resolveMethods(ctx.model, ["gradcam"]);
  const named = (e: unknown) =>
    e instanceof NonFiniteError &&
    e.code === "NON_FINITE" &&
    e.images.join() === "0,1" &&
    e.found === "NaN";
  await assert.rejects(explainer.explain(images, { methods }), named);
  await assert.rejects(explainSmoothed(explainer, images, { methods }), named);
});
