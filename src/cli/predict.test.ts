import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { writeTinyClassifier } from "../models/testing/tiny-classifier.ts";
import type { Prediction } from "./predict.ts";
import { camscope, writeTestImages } from "./testing/harness.ts";

let dir: string;
let model: string;
let softmaxModel: string;
let images: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-predict-"));
  model = join(dir, "tiny.onnx");
  softmaxModel = join(dir, "tiny-softmax.onnx");
  await writeTinyClassifier(model, { classes: 6 });
  await writeTinyClassifier(softmaxModel, { classes: 6, softmax: true });
  images = await writeTestImages(dir, 9);
});
after(() => rm(dir, { recursive: true, force: true }));

async function predictJson(args: string[]): Promise<Prediction[]> {
  const run = await camscope(["predict", ...args, "--json"]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Prediction[];
}

describe("camscope predict", () => {
  test("prints the top-k classes of each image, in order, with probabilities", async () => {
    const predictions = await predictJson([...images, "--model", model, "--top", "3"]);
    assert.deepEqual(
      predictions.map((p) => p.image),
      images,
    );
    for (const { top } of predictions) {
      assert.equal(top.length, 3);
      for (let i = 1; i < top.length; i++)
        assert.ok(top[i - 1]!.probability >= top[i]!.probability);
      for (const s of top) assert.equal(s.label, `class_${s.index}`);
    }
    const all = await predictJson([images[0]!, "--model", model, "--top", "6"]);
    const sum = all[0]!.top.reduce((a, s) => a + s.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `probabilities sum to ${sum}`);
  });

  test("batch size changes the chunking, not the results", async () => {
    const whole = await predictJson([...images, "--model", model, "--top", "6"]);
    const chunked = await predictJson([
      ...images,
      "--model",
      model,
      "--top",
      "6",
      "--batch-size",
      "2",
    ]);
    assert.equal(chunked.length, whole.length);
    chunked.forEach((p, i) => {
      const q = whole[i]!;
      assert.deepEqual(
        p.top.map((s) => s.index),
        q.top.map((s) => s.index),
      );
      p.top.forEach((s, k) => assert.ok(Math.abs(s.probability - q.top[k]!.probability) < 1e-6));
    });
  });

  test("a table on stdout; progress only on stderr, only for many batches", async () => {
    const few = await camscope(["predict", ...images.slice(0, 2), "--model", model, "-k", "2"]);
    assert.equal(few.code, 0);
    assert.equal(few.stderr, "");
    const lines = few.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 6);
    assert.equal(lines[0], images[0]);
    assert.equal(lines[3], images[1]);
    for (const row of [1, 2, 4, 5]) assert.match(lines[row]!, /^ {2}class_\d {2}[01]\.\d{4}$/);

    const many = await camscope([
      "predict",
      ...images,
      "--model",
      model,
      "-k",
      "1",
      "--batch-size",
      "1",
    ]);
    assert.equal(many.code, 0);
    assert.equal(many.stdout.split("\n").filter((l) => l.startsWith("  ")).length, images.length);
    assert.match(many.stderr, /9\/9 images 100% .* ETA 0:00\n$/);
  });

  test("a model ending in Softmax is not normalised twice", async () => {
    const raw = await predictJson([images[0]!, "--model", model, "--top", "6"]);
    const soft = await predictJson([images[0]!, "--model", softmaxModel, "--top", "6"]);
    assert.deepEqual(
      soft[0]!.top.map((s) => s.index),
      raw[0]!.top.map((s) => s.index),
    );
    soft[0]!.top.forEach((s, k) =>
      assert.ok(Math.abs(s.probability - raw[0]!.top[k]!.probability) < 1e-6),
    );
  });

  test("a non-image file is an error naming it, without a stack trace", async () => {
    const notes = join(dir, "notes.txt");
    await writeFile(notes, "not an image\n");
    const run = await camscope(["predict", images[0]!, notes, "--model", model]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^error: Cannot decode image ".*notes\.txt": .+\n$/);
  });

  test("malformed ONNX bytes are an error naming the file", async () => {
    const bad = join(dir, "bad.onnx");
    await writeFile(bad, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    const run = await camscope(["predict", images[0]!, "--model", bad]);
    assert.equal(run.code, 1);
    assert.ok(run.stderr.startsWith(`error: Cannot load ONNX model "${bad}"`), run.stderr);
    assert.equal(run.stderr.split("\n").length, 2);
  });

  test("usage errors exit 1 with commander's message", async () => {
    const noModel = await camscope(["predict", images[0]!]);
    assert.equal(noModel.code, 1);
    assert.match(noModel.stderr, /required option '-m, --model <model>' not specified/);
    const badTop = await camscope(["predict", images[0]!, "--model", model, "--top", "0"]);
    assert.equal(badTop.code, 1);
    assert.match(
      badTop.stderr,
      /^error: option '-k, --top <k>' argument '0' is invalid\. must be an integer, at least 1\n/,
    );
  });
});
