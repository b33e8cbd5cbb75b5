// The README's first commands, on the bundled models and sample images as shipped.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { decodeImage } from "../io/images.ts";
import type { LayerListing } from "./layers.ts";
import type { Prediction } from "./predict.ts";
import { camscope } from "./testing/harness.ts";
import { BUNDLED_MODELS, MODELS_DIR } from "../io/models.ts";

const SAMPLES_DIR = fileURLToPath(new URL("../../samples/", import.meta.url));

let dir: string;
// Sample images holding one object, named after its class (star.png); two-object samples
// (heart-and-square.png) are left out.
let singleObjectSamples: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-bundled-cli-"));
  const card = JSON.parse(await readFile(join(MODELS_DIR, "synth-resnet.json"), "utf8")) as {
    labels: string[];
  };
  singleObjectSamples = (await readdir(SAMPLES_DIR))
    .filter((f) => f.endsWith(".png") && card.labels.includes(basename(f, ".png")))
    .sort()
    .map((f) => join(SAMPLES_DIR, f));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const model of BUNDLED_MODELS) {
  describe(`camscope on ${model}`, () => {
    test("predict ranks each single-object sample's class high, and first for most", async () => {
      assert.ok(singleObjectSamples.length >= 3, "samples/ should hold single-object images");
      const run = await camscope(["predict", ...singleObjectSamples, "--model", model, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const predictions = JSON.parse(run.stdout) as Prediction[];
      assert.equal(predictions.length, singleObjectSamples.length);
      let first = 0;
      for (const p of predictions) {
        // Samples are picked to illustrate, not to be easy: a model may put a look-alike first.
        const rank = p.top.findIndex((s) => s.label === basename(p.image, ".png"));
        assert.ok(rank >= 0 && rank < 3, `${p.image}: ${JSON.stringify(p.top.slice(0, 3))}`);
        if (rank === 0) first++;
      }
      assert.ok(first > predictions.length / 2, `only ${first} of ${predictions.length} first`);
    });

    test("layers marks the card's default layer", async () => {
      const card = JSON.parse(await readFile(join(MODELS_DIR, `${model}.json`), "utf8")) as {
        defaultLayer: string;
      };
      const run = await camscope(["layers", "--model", model, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const listing = JSON.parse(run.stdout) as LayerListing;
      assert.equal(listing.defaultLayer, card.defaultLayer);
      assert.deepEqual(
        listing.layers.filter((l) => l.default).map((l) => l.name),
        [card.defaultLayer],
      );
    });

    test("activation writes an overlay of a sample", async () => {
      const image = singleObjectSamples[0]!;
      const out = join(dir, `${model}.png`);
      const run = await camscope(["activation", image, "--model", model, "--out", out]);
      assert.equal(run.code, 0, run.stderr);
      const [original, overlay] = await Promise.all([decodeImage(image), decodeImage(out)]);
      assert.deepEqual([overlay.width, overlay.height], [original.width, original.height]);
    });
  });
}
