// The bundled models on the bundled sample images: Integrated Gradients' completeness at 64
// steps, and seeded reproducibility of the random methods.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { decodeImage } from "../io/images.ts";
import { preprocess } from "../image/preprocess.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { attributionInstances } from "../methods/testing/instances.ts";
import { pixelExplain } from "./testing/runs.ts";
import { BUNDLED_MODELS, openModel } from "../io/models.ts";

const SAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "samples");
const samplePaths = readdirSync(SAMPLES)
  .filter((f) => f.endsWith(".png"))
  .sort()
  .map((f) => join(SAMPLES, f));

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

async function inputs(ctx: ModelRuntime, paths: readonly string[]) {
  const images = await Promise.all(paths.map((p) => decodeImage(p)));
  const { tensor, dims } = preprocess(images, ctx.card.preprocessing);
  return { data: tensor, dims };
}

describe("Integrated Gradients completeness at 64 steps (black baseline)", () => {
  for (const name of BUNDLED_MODELS) {
    test(`${name}: sum of attributions within 1% of f(x) - f(x') on average, 2% at worst`, async (t) => {
      const ctx = await openModel(name, engine);
      const e = await pixelExplain(ctx, await inputs(ctx, samplePaths), {
        methods: attributionInstances(ctx.model, ["ig"], { ig: { steps: 64 } }),
      });
      const gaps = Array.from(e.results[0]!.completeness!.relativeGap, Math.abs);
      t.diagnostic(`relative gaps (%): ${gaps.map((g) => (100 * g).toFixed(2)).join(" ")}`);
      assert.equal(gaps.length, samplePaths.length);
      const mean = gaps.reduce((a, b) => a + b) / gaps.length;
      assert.ok(mean < 0.01, `mean relative gap ${mean}`);
      for (const g of gaps) assert.ok(g < 0.02, `relative gap ${g}`);
    });
  }
});

describe("random methods are reproducible under a seed", () => {
  test("SmoothGrad, VarGrad, RISE and the uniform IG baseline: same seed same maps, other seed other maps", async () => {
    const ctx = await openModel("synth-resnet", engine);
    const images = await inputs(ctx, samplePaths.slice(0, 2));
    const methods = attributionInstances(ctx.model, ["smoothgrad", "vargrad", "rise", "ig"], {
      smoothgrad: { samples: 3 },
      vargrad: { samples: 3 },
      rise: { masks: 24 },
      ig: { steps: 4, baseline: "uniform" },
    });
    const run = (seed: number) => pixelExplain(ctx, images, { methods, seed, batchSize: 16 });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    a.results.forEach((result, m) => {
      const name = result.method.name;
      assert.deepEqual(
        b.results[m]!.attribution.data,
        result.attribution.data,
        `${name}: same seed`,
      );
      assert.notDeepEqual(
        c.results[m]!.attribution.data,
        result.attribution.data,
        `${name}: other seed`,
      );
    });
  });
});
