import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { PREPROCESS_PRESETS } from "../image/preprocess.ts";
import { tinyClassifier, writeTinyClassifier } from "../models/testing/tiny-classifier.ts";
import { loadModel, openModel } from "./models.ts";
import { fitPreset } from "../models/load.ts";

let dir: string;
const engine = new Engine();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-registry-"));
});
after(async () => {
  await engine.dispose();
  await rm(dir, { recursive: true, force: true });
});

function rejectsWith(code: string, ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CamscopeError, `expected a CamscopeError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const f of fragments)
      assert.ok(error.message.includes(f), `"${error.message}" should mention "${f}"`);
    return true;
  };
}

describe("loadModel", () => {
  test("an unknown name lists the bundled models", async () => {
    await assert.rejects(
      loadModel("synth-alexnet"),
      rejectsWith("UNKNOWN_MODEL", "synth-alexnet", "synth-vgg", "synth-resnet", "synth-mobilenet"),
    );
  });

  test("malformed ONNX bytes fail with MODEL_LOAD naming the file", async () => {
    const path = join(dir, "garbage.onnx");
    await writeFile(path, Buffer.from("this is not a protobuf, just some text\n"));
    await assert.rejects(loadModel(path), rejectsWith("MODEL_LOAD", path));
  });

  test("a missing file fails with MODEL_LOAD naming it", async () => {
    const path = join(dir, "missing.onnx");
    await assert.rejects(loadModel(path), rejectsWith("MODEL_LOAD", path));
  });

  test("a bare 1000-class model gets the ImageNet-1k labels", async () => {
    const path = join(dir, "imagenet-like.onnx");
    await writeTinyClassifier(path, { classes: 1000 });
    const { card, bundled } = await loadModel(path);
    assert.equal(bundled, false);
    assert.equal(card.name, "imagenet-like");
    assert.equal(card.labels.length, 1000);
    assert.equal(card.labels[0], "tench");
    assert.equal(card.labels[999], "toilet tissue");
  });

  test("a bare model with another class count gets class_<i> labels and fitted imagenet preprocessing", async () => {
    const path = join(dir, "three.onnx");
    await writeTinyClassifier(path, { classes: 3, size: [20, 24] });
    const { card } = await loadModel(path);
    assert.deepEqual(card.labels, ["class_0", "class_1", "class_2"]);
    assert.deepEqual(card.preprocessing.size, [20, 24]);
    assert.deepEqual(card.preprocessing.mean, PREPROCESS_PRESETS.imagenet.mean);
  });

  test("a sibling card's labels are used", async () => {
    const path = join(dir, "shapes.onnx");
    await writeTinyClassifier(path, { classes: 2 });
    await writeFile(
      join(dir, "shapes.json"),
      JSON.stringify({ labels: ["disc", "box"], defaultLayer: "conv" }),
    );
    const { card } = await loadModel(path);
    assert.deepEqual(card.labels, ["disc", "box"]);
    assert.equal(card.name, "shapes");
    assert.equal(card.defaultLayer, "conv");
  });

  test("a sibling card without labels gets generic ones; an unknown field is an error", async () => {
    const path = join(dir, "meta.onnx");
    await writeTinyClassifier(path, { classes: 2 });
    await writeFile(join(dir, "meta.json"), JSON.stringify({ opset: 13 }));
    const { card } = await loadModel(path);
    assert.deepEqual(card.labels, ["class_0", "class_1"]);
    await writeFile(join(dir, "meta.json"), JSON.stringify({ architecture: "tiny", opset: 13 }));
    await assert.rejects(
      loadModel(path),
      rejectsWith("MODEL_LOAD", "meta.json", 'unknown field "architecture"'),
    );
  });

  test("a sibling card whose label count differs from the model's outputs is an error", async () => {
    const path = join(dir, "wrong.onnx");
    await writeTinyClassifier(path, { classes: 4 });
    await writeFile(join(dir, "wrong.json"), JSON.stringify({ labels: ["a", "b"] }));
    await assert.rejects(
      loadModel(path),
      rejectsWith("MODEL_LOAD", "wrong.json", "2 labels", "4 outputs"),
    );
  });

  test("a sibling card with invalid preprocessing is an error naming the card", async () => {
    const path = join(dir, "badspec.onnx");
    await writeTinyClassifier(path, { classes: 2 });
    const card = { labels: ["a", "b"], preprocessing: { size: [16, 16], resize: "squash" } };
    await writeFile(join(dir, "badspec.json"), JSON.stringify(card));
    await assert.rejects(
      loadModel(path),
      rejectsWith("MODEL_LOAD", "badspec.json", "Invalid preprocessing", "squash"),
    );
  });

  test("a preset given by name replaces the card's preprocessing, fitted to the model", async () => {
    const path = join(dir, "preset.onnx");
    await writeTinyClassifier(path, { classes: 2, size: [32, 32] });
    const { card } = await loadModel(path, { preprocessing: "signed" });
    assert.deepEqual(card.preprocessing.mean, [0.5, 0.5, 0.5]);
    assert.deepEqual(card.preprocessing.size, [32, 32]);
  });
});

describe("fitPreset", () => {
  test("keeps the preset for a 224 input and takes a static size otherwise", () => {
    assert.deepEqual(fitPreset(tinyClassifier({ classes: 2, size: [224, 224] }), "imagenet"), {
      ...PREPROCESS_PRESETS.imagenet,
    });
    const fitted = fitPreset(tinyClassifier({ classes: 2, size: [64, 48] }), "unit");
    assert.deepEqual(fitted.size, [64, 48]);
    // The resize-to size follows from the new size (floor(64 / 0.875) = 73), not ImageNet's 256.
    assert.equal(fitted.resizeTo, undefined);
    assert.equal(fitted.resize, "shorter-crop");
  });
});

describe("ModelRuntime", () => {
  test("without a card default, the default layer is the input of the global pooling", async () => {
    const path = join(dir, "ctx.onnx");
    await writeTinyClassifier(path, { classes: 3 });
    const ctx = await openModel(path, engine);
    assert.deepEqual(ctx.input, { name: "input", dims: [1, 3, 16, 16] });
    assert.equal(ctx.output, "output");
    assert.deepEqual(
      (await ctx.layers()).map((l) => l.name),
      ["conv", "features"],
    );
    assert.equal((await ctx.defaultLayer()).name, "features");
    assert.equal((await ctx.layer("auto")).name, "features");
    assert.equal(ctx.label(2), "class_2");
  });

  test("a card default layer the model lacks is an error naming it", async () => {
    const path = join(dir, "bad-default.onnx");
    await writeTinyClassifier(path, { classes: 2 });
    await writeFile(
      join(dir, "bad-default.json"),
      JSON.stringify({ labels: ["a", "b"], defaultLayer: "layer4" }),
    );
    const ctx = await openModel(path, engine);
    await assert.rejects(ctx.defaultLayer(), rejectsWith("MODEL_LOAD", "layer4"));
  });

  test("an unknown layer name is an error listing close matches", async () => {
    const path = join(dir, "close.onnx");
    await writeTinyClassifier(path, { classes: 2 });
    const ctx = await openModel(path, engine);
    await assert.rejects(
      ctx.layer("feature"),
      rejectsWith("UNKNOWN_LAYER", '"feature"', "Closest: features"),
    );
  });

  test("preprocessing that does not fit the model input is an error", async () => {
    const path = join(dir, "misfit.onnx");
    await writeTinyClassifier(path, { classes: 2, size: [16, 16] });
    await assert.rejects(
      openModel(path, engine, { preprocessing: { size: [20, 20], resize: "stretch" } }),
      rejectsWith("INVALID_ARGUMENT", "1x3x20x20", "1x3x16x16"),
    );
  });
});
