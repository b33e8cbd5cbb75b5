// A model as a user downloads it: the zoo's squeeze1000 "download" export is opset 7, float16,
// batch fixed to 1, ends in a Softmax over [1, 1000, 1, 1] and comes with a card that says only
// "caffe" (BGR, 0..255, ImageNet mean). End to end through the CLI it must give PyTorch's top-5 on
// the same weights (scripts/reference/make_zoo.py preprocesses the samples with PIL and the Caffe
// recipe) and the same maps as its cleaned-up opset-13 float32 twin.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeNpy } from "../tensor/npy.ts";
import type { Prediction } from "./predict.ts";
import { camscope } from "./testing/harness.ts";
import type { FloatTensor } from "../tensor/tensor.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ZOO = join(REPO, "src", "models", "zoo");
const DOWNLOAD = join(ZOO, "squeeze1000--download.onnx");
const CLEAN = join(ZOO, "squeeze1000--clean.onnx");

interface Sample {
  image: string;
  top5: number[];
  logits: string;
}
const reference = JSON.parse(readFileSync(join(ZOO, "squeeze1000.zoo.json"), "utf8")) as {
  samples: Sample[];
};

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-download-"));
});
after(() => rm(dir, { recursive: true, force: true }));

function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

describe("a model as a user downloads it (opset 7, float16, batch 1, Softmax head, Caffe card)", () => {
  test("predict gives PyTorch's top-5 with PyTorch's probabilities, ImageNet labels", async () => {
    const images = reference.samples.map((s) => join(REPO, s.image));
    const run = await camscope(["predict", ...images, "--model", DOWNLOAD, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const predictions = JSON.parse(run.stdout) as Prediction[];
    reference.samples.forEach((s, i) => {
      const top = predictions[i]!.top;
      assert.deepEqual(
        top.map((c) => c.index),
        s.top5,
        s.image,
      );
      const bytes = Buffer.from(s.logits, "base64");
      const p = softmax(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
      // One softmax, of the logits: the model's own Softmax is not applied a second time.
      for (const c of top)
        assert.ok(Math.abs(c.probability - p[c.index]!) < 1e-4, `${s.image}: ${c.label}`);
    });
    assert.equal(predictions[0]!.top[0]!.label, "web site");
  });

  test("explain gives the same maps as on the cleaned-up opset-13 float32 export", async () => {
    const image = join(REPO, "samples", "star.png");
    const methods = "all,saliency,gradxinput,guidedbackprop,guidedgradcam,ig,lrp";
    const outputs = [];
    for (const [model, extra] of [
      [DOWNLOAD, []],
      [CLEAN, ["--preset", "caffe"]],
    ] as const) {
      const out = join(dir, model === DOWNLOAD ? "download" : "clean");
      const run = await camscope([
        "explain",
        image,
        "--model",
        model,
        ...extra,
        "--method",
        methods,
        "--steps",
        "8",
        // A black baseline makes the path images flat, full of exact max-pool ties that the two
        // exports (equal to ~1e-6) may break differently; a noise baseline has none.
        "--baseline",
        "uniform",
        "--out",
        out,
      ]);
      assert.equal(run.code, 0, run.stderr);
      outputs.push(out);
    }
    const npys = async (root: string) =>
      (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".npy")).sort();
    const files = await npys(outputs[0]!);
    assert.deepEqual(await npys(outputs[1]!), files);
    assert.ok(files.length >= 20, `${files.length} maps`);
    for (const file of files) {
      const [a, b] = (await Promise.all(
        outputs.map(async (o) => decodeNpy(await readFile(join(o, file)))),
      )) as [FloatTensor, FloatTensor];
      assert.deepEqual(a.dims, b.dims, file);
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < a.data.length; i++) {
        scale = Math.max(scale, Math.abs(b.data[i]!));
        diff = Math.max(diff, Math.abs(a.data[i]! - b.data[i]!));
      }
      assert.ok(
        diff <= 1e-5 * Math.max(scale, 1e-12),
        `${file}: differs by ${diff} (scale ${scale})`,
      );
    }
  });
});
