import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { preprocess } from "../image/preprocess.ts";
import { readImages } from "../io/images.ts";
import { openModel } from "../io/models.ts";
import { explainLrp, lrp } from "./method.ts";
import { RelevancePropagator } from "./relevance.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

test("the lrp pixel method is the channel sum of the input relevance, one backward pass per row", async () => {
  const ctx = await openModel("synth-vgg", engine);
  const pre = preprocess(
    await readImages(["samples/star.png", "samples/ring.png"]),
    ctx.card.preprocessing,
  );
  const images = { data: pre.tensor, dims: [...pre.dims] };
  const method = lrp({ composite: "epsilon-plus-flat", start: "contrastive" });
  assert.equal(method.title, "LRP (epsilon-plus-flat)");
  const r = (await explainLrp(ctx, await ctx.targets(images), [method]))[0]!;
  assert.equal(r.backwardPasses, 1);
  assert.ok(r.signed);
  const direct = await new RelevancePropagator(ctx).relevance(images, {
    composite: "epsilon-plus-flat",
    start: "contrastive",
  });
  const [n, c, h, w] = direct.input!.dims as [number, number, number, number];
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * w; p++) {
      let sum = 0;
      for (let k = 0; k < c; k++) sum += direct.input!.data[(i * c + k) * h * w + p]!;
      assert.ok(Math.abs(r.attribution.data[i * h * w + p]! - sum) <= 1e-6 * (1 + Math.abs(sum)));
    }
  }
});
