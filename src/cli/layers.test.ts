import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { writeTinyClassifier } from "../models/testing/tiny-classifier.ts";
import type { LayerListing } from "./layers.ts";
import { camscope } from "./testing/harness.ts";

let dir: string;
let model: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-layers-"));
  model = join(dir, "tiny.onnx");
  await writeTinyClassifier(model, { classes: 3, size: [16, 12] });
});
after(() => rm(dir, { recursive: true, force: true }));

describe("camscope layers", () => {
  test("lists every spatial layer with op and shape, marking the default", async () => {
    const run = await camscope(["layers", "--model", model]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `${model}: input input 1x3x16x12, 2 spatial layers`);
    assert.equal(lines[1], "  opset 13, float32, NCHW input, logits output [N, 3], any batch");
    assert.match(lines[3]!, /^ {3}conv +Conv +NCHW +1x4x16x12$/);
    assert.match(lines[4]!, /^\* {2}features +Relu +NCHW +1x4x16x12$/);
    assert.equal(lines[5], "* default layer (--layer auto): features");
    // 2,123 float values per input (input, conv, features, pooled, flat, output), 1.25x that for
    // a gradient run: 4 inputs (the cap) take 4 x 10,615 bytes.
    assert.equal(
      lines[6],
      "default --batch-size of explain: 4 inputs per run, est. 0.04 MiB (--memory-budget 512)",
    );
  });

  test("--json gives the same listing as data", async () => {
    const run = await camscope(["layers", "--model", model, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const listing = JSON.parse(run.stdout) as LayerListing;
    assert.equal(listing.defaultLayer, "features");
    assert.equal(listing.batch.size, 4);
    assert.equal(listing.batch.automatic, true);
    assert.deepEqual(listing.input, { name: "input", dims: [1, 3, 16, 12] });
    assert.deepEqual(
      listing.layers.map((l) => [l.name, l.op, l.dims.join("x"), l.default]),
      [
        ["conv", "Conv", "1x4x16x12", false],
        ["features", "Relu", "1x4x16x12", true],
      ],
    );
  });

  test("an unknown model name lists the bundled ones", async () => {
    const run = await camscope(["layers", "--model", "resnet50"]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'error: Unknown model "resnet50": not a bundled model (synth-vgg, synth-resnet, synth-mobilenet) or a path to an .onnx file\n',
    );
  });
});
