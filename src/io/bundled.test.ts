// The bundled models as shipped: their cards, default layers, a lossless ONNX round trip, and the
// accuracy their cards promise on freshly generated held-out data.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import {
  generateSplit,
  SYNTHETIC_CLASSES,
  type SyntheticSample,
} from "../data/synthetic/generator.ts";
import { datasetHash } from "../data/synthetic/hash.ts";
import { Engine, Tensor } from "../engine/engine.ts";
import { preprocess } from "../image/preprocess.ts";
import { defaultLayer } from "../onnx/layers.ts";
import { OnnxModel } from "../onnx/model.ts";
import { createRng } from "../util/random.ts";
import { BUNDLED_MODELS, MODELS_DIR, openModel } from "./models.ts";

const ACCURACY_THRESHOLD = 0.9;
const EVALUATION_COUNT = 200;
// All three cards are evaluated on one split, so that their accuracies compare.
const EVALUATION_SEED = 3;
// datasetHash of the first 200 images of that split (one object each). If the generator changes,
// this changes, and the bundled models' accuracy no longer refers to the data they were
// evaluated on: retrain, then update.
const EVALUATION_HASH = "300941ab8b8f4c14f34d517f85bff999c197559b1a406aca80ecd66be5ee4f93";

const engine = new Engine();
after(() => engine.dispose());

// Generated once per split and seed and shared by the models' tests.
const evaluationSets = new Map<string, SyntheticSample[]>();
function evaluationSamples(seed: number, split: string): SyntheticSample[] {
  const key = `${split}/${seed}`;
  let samples = evaluationSets.get(key);
  if (!samples) {
    samples = [...generateSplit({ seed, split, count: EVALUATION_COUNT, twoObjectShare: 0 })];
    evaluationSets.set(key, samples);
  }
  return samples;
}

for (const name of BUNDLED_MODELS) {
  describe(name, () => {
    test("the card describes the model", async () => {
      const ctx = await openModel(name, engine);
      const { card } = ctx;
      assert.equal(card.name, name);
      assert.deepEqual(card.labels, SYNTHETIC_CLASSES);
      assert.ok(card.heldOutAccuracy !== undefined && card.heldOutAccuracy >= ACCURACY_THRESHOLD);
      const { split, seed, twoObjectShare } = card.evaluation ?? {};
      assert.deepEqual(
        { split, seed, twoObjectShare },
        { split: "test", seed: EVALUATION_SEED, twoObjectShare: 0 },
      );
      assert.deepEqual(ctx.input, { name: card.input?.name, dims: [1, 3, 128, 128] });
      assert.equal(ctx.output, "logits");
    });

    test("the default layer is the card's and the input of the final global pooling", async () => {
      const ctx = await openModel(name, engine);
      const pools = ctx.model.graph.node.filter((n) => n.op_type === "GlobalAveragePool");
      const finalPoolInput = pools[pools.length - 1]?.input[0];
      const chosen = await ctx.defaultLayer();
      assert.equal(chosen.name, ctx.card.defaultLayer);
      assert.equal(chosen.name, finalPoolInput);
      // The graph heuristic, which models without a card rely on, agrees.
      assert.equal(defaultLayer(ctx.model, await ctx.layers()).name, chosen.name);
      assert.deepEqual(chosen.dims.slice(2), [8, 8]);
    });

    test("ONNX Runtime outputs after an IR round trip equal the original file's bit for bit", async () => {
      const bytes = await readFile(join(MODELS_DIR, `${name}.onnx`));
      const roundTrip = OnnxModel.fromBytes(
        OnnxModel.fromBytes(bytes, name).toBytes(),
        name,
      ).toBytes();
      const rng = createRng(20240601);
      const batch = Float32Array.from({ length: 4 * 3 * 128 * 128 }, () => rng.normal());
      const outputs = await Promise.all(
        [bytes, roundTrip].map(async (model) => {
          const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"] });
          try {
            const results = await session.run({
              input: new Tensor("float32", batch, [4, 3, 128, 128]),
            });
            return Object.fromEntries(
              Object.entries(results).map(([k, t]) => [k, t.data as Float32Array]),
            );
          } finally {
            await session.release();
          }
        }),
      );
      const [original, copied] = outputs as [
        Record<string, Float32Array>,
        Record<string, Float32Array>,
      ];
      assert.deepEqual(Object.keys(copied), Object.keys(original));
      for (const [key, data] of Object.entries(original)) {
        assert.ok(
          Buffer.from(copied[key]!.buffer).equals(Buffer.from(data.buffer)),
          `output "${key}" differs`,
        );
      }
    });

    test(`reaches ${ACCURACY_THRESHOLD} accuracy on ${EVALUATION_COUNT} fresh held-out images`, async () => {
      const ctx = await openModel(name, engine);
      const evaluation = ctx.card.evaluation!;
      const samples = evaluationSamples(evaluation.seed, evaluation.split);
      const images = samples.map((s) => ({ width: s.width, height: s.height, data: s.rgb }));
      const { tensor, dims } = preprocess(images, ctx.card.preprocessing);
      const session = await ctx.session();
      const logits = (
        await session.runBatched({ [ctx.input.name]: new Tensor("float32", tensor, dims) })
      )[ctx.output]!;
      const classes = ctx.card.labels.length;
      const data = logits.data as Float32Array;
      let correct = 0;
      samples.forEach((sample, i) => {
        const row = data.subarray(i * classes, (i + 1) * classes);
        if (row.indexOf(Math.max(...row)) === sample.objects[0]!.category) correct++;
      });
      const accuracy = correct / samples.length;
      assert.ok(
        accuracy >= ACCURACY_THRESHOLD,
        `${name}: accuracy ${accuracy} < ${ACCURACY_THRESHOLD}`,
      );
    });
  });
}

test("the evaluation images are the recorded dataset", () => {
  assert.equal(datasetHash(evaluationSamples(EVALUATION_SEED, "test")), EVALUATION_HASH);
});
