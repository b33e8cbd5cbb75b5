// Relevance-CAM's convBias option (the official code's z+ denominators with the convolution bias;
// the rule itself is checked against its written-out definition in compiler/lrp): it changes maps
// where convolutions between the layer and the logits have biases, and nothing where they have
// none.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "../../engine/engine.ts";
import { Explainer } from "../../explain/explainer.ts";
import { openModel } from "../../io/models.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

const images = {
  data: Float32Array.from({ length: 3 * 128 * 128 }, (_, i) => Math.sin(i * 0.01)),
  dims: [1, 3, 128, 128],
};

/** The largest difference between the final maps without and with convBias at `layer`. */
async function convBiasEffect(model: string, layer: string): Promise<number> {
  const explainer = new Explainer(await openModel(model, engine));
  const request = { layers: [layer] };
  const plain = await explainer.explain(images, { ...request, methods: ["relevancecam"] });
  const biased = await explainer.explain(images, {
    ...request,
    methods: [{ name: "relevancecam", options: { convBias: true } }],
  });
  const a = plain.results[0]!.map.data;
  const b = biased.results[0]!.map.data;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

test("convBias changes the maps where the convolutions after the layer have biases (synth-vgg)", async () => {
  const effect = await convBiasEffect("synth-vgg", "/features/features.7/MaxPool_output_0");
  assert.ok(effect > 1e-2, `max |difference| ${effect}`);
});

test("convBias leaves them as they are where the convolutions have none (synth-resnet)", async () => {
  const effect = await convBiasEffect("synth-resnet", "/features/features.5/Add_output_0");
  assert.ok(effect < 1e-6, `max |difference| ${effect}`);
});
