import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { relevanceCam } from "../cam/methods/relevance-cam.ts";
import { Engine } from "../engine/engine.ts";
import { readImages } from "../io/images.ts";
import { preprocess } from "../image/preprocess.ts";
import { RelevancePropagator } from "./relevance.ts";
import { openModel } from "../io/models.ts";
import { startingRelevance } from "../runtime/relevance.ts";
import { camExplain } from "../cam/testing/runs.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

const SAMPLES = ["samples/star.png", "samples/ring.png", "samples/heart.png"];

test("the contrastive start puts 1 on the class and -1/C on the others", () => {
  const targets = { image: [0, 1], classes: [2, 0], score: "logit" as const, binary: false };
  const seed = startingRelevance(targets, 4, "contrastive");
  assert.deepEqual(Array.from(seed), [-0.25, -0.25, 1, -0.25, 1, -0.25, -0.25, -0.25]);
  assert.deepEqual(Array.from(startingRelevance(targets, 4, "one-hot")), [0, 0, 1, 0, 1, 0, 0, 0]);
});

for (const name of ["synth-vgg", "synth-resnet"]) {
  describe(`relevance on ${name}`, async () => {
    const ctx = await openModel(name, engine);
    const pre = preprocess(await readImages(SAMPLES), ctx.card.preprocessing);
    const images = { data: pre.tensor, dims: [...pre.dims] };
    const lrp = new RelevancePropagator(ctx);

    // With zplus everywhere and no zero denominators, every layer passes on exactly what it got:
    // 1 per image from the one-hot start, the contrastive start's 1 - (C - 1)/C = 1/C otherwise.
    for (const start of ["one-hot", "contrastive"] as const) {
      test(`zplus conserves the ${start} start from the logits to the layer and the input`, async () => {
        const r = await lrp.relevance(images, { composite: "zplus", start, layers: ["auto"] });
        const total = start === "one-hot" ? 1 : 1 / 10;
        const { totals } = r;
        for (const s of [...totals.start, ...totals.input!, ...[...totals.layers.values()][0]!])
          assert.ok(Math.abs(s - total) < 1e-3 * total, `${s} vs ${total}`);
      });
    }

    test("Relevance-CAM runs in the CAM pipeline, unrectified by default", async () => {
      const e = await camExplain(ctx, images, {
        methods: [relevanceCam(), relevanceCam({ relu: true })],
      });
      const [plain, rectified] = e.results;
      for (const r of [plain!, rectified!]) {
        const m = r.map.data;
        assert.ok(m.every((v) => v >= 0 && v <= 1));
        assert.ok(Math.max(...m) > 0.9);
      }
      // The raw maps are the same; ReLU changes the normalised map only where the raw map is negative.
      assert.deepEqual(plain!.raw[0]!.data, rectified!.raw[0]!.data);
      assert.ok(
        plain!.raw[0]!.data.some((v) => v < 0),
        "some raw values are negative",
      );
      assert.notDeepEqual(plain!.map.data, rectified!.map.data);
    });
  });
}
