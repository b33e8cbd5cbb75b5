import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeImage } from "../io/images.ts";
import { writeTinyClassifier } from "../models/testing/tiny-classifier.ts";
import { channelMean } from "./activation.ts";
import { camscope, writeTestImages } from "./testing/harness.ts";

let dir: string;
let model: string;
let image: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-activation-"));
  model = join(dir, "tiny.onnx");
  await writeTinyClassifier(model, { classes: 3 });
  image = (await writeTestImages(dir, 4))[3]!;
});
after(() => rm(dir, { recursive: true, force: true }));

describe("camscope activation", () => {
  test("writes an overlay at the original image size", async () => {
    const out = join(dir, "out", "overlay.png");
    const run = await camscope(["activation", image, "--model", model, "--out", out]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${out}: channel mean of features (Relu, 1x4x16x16)\n`);
    const [original, overlay] = await Promise.all([decodeImage(image), decodeImage(out)]);
    assert.equal(overlay.width, original.width);
    assert.equal(overlay.height, original.height);
    assert.notDeepEqual(overlay.data, original.data);
  });

  test("an unknown layer is an error listing close matches", async () => {
    const run = await camscope([
      "activation",
      image,
      "--model",
      model,
      "--layer",
      "feat",
      "--out",
      join(dir, "x.png"),
    ]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^error: Model ".*" has no spatial layer "feat"\. Closest: features, conv\./,
    );
  });
});

test("channelMean averages the channels of the first sample", () => {
  const data = Float32Array.from([1, 2, 3, 4, 3, 2, 1, 0]);
  const map = channelMean({ data, dims: [1, 2, 2, 2] });
  assert.deepEqual(map, { width: 2, height: 2, data: Float32Array.from([2, 2, 2, 2]) });
});
