// Each method's declared cost is what an explain call spends: passes per target as the explain
// service counts them while it runs, for every method in the registry, on the bundled model.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { Explainer } from "../explain/explainer.ts";
import { preprocess } from "../image/preprocess.ts";
import { readImages } from "../io/images.ts";
import { openModel } from "../io/models.ts";
import type { TargetOptions } from "../runtime/targets.ts";
import { chooseMethod, METHODS } from "./registry.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

/** Small settings for the methods whose passes grow with an option (the counts scale alike). */
const SMALL: Record<string, Record<string, unknown>> = {
  sscam: { samples: 2 },
  iscam: { steps: 2 },
  ig: { steps: 3 },
  smoothgrad: { samples: 3 },
  "smoothgrad-sq": { samples: 3 },
  vargrad: { samples: 3 },
  rise: { masks: 5 },
  occlusion: { window: 16, stride: 16 },
};

test("every method's cost() is the passes an explain call spends: exactly with top-k, one forward pass fewer where the graph picks the targets", async () => {
  const rt = await openModel("synth-resnet", engine);
  const pre = preprocess(await readImages(["samples/star.png"]), rt.card.preprocessing);
  const input = { data: pre.tensor, dims: [...pre.dims] };
  const explainer = new Explainer(rt);
  const saving = new Set<string>();
  for (const method of METHODS) {
    const options = SMALL[method.name] ?? {};
    const choice = chooseMethod(method, options);
    const targets: TargetOptions[] = [{ topK: 1 }, {}, { classes: [1] }];
    for (const target of targets) {
      const e = await explainer.explain(input, {
        methods: [{ name: method.name, options }],
        target,
      });
      const spent = {
        forward: e.sharedPasses.forward + e.results[0]!.passes.forward,
        backward: e.sharedPasses.backward + e.results[0]!.passes.backward,
      };
      const declared = method.cost(choice.options, { layers: e.layers, input: input.dims });
      const what = `${method.name} (${JSON.stringify(target)}): spent ${JSON.stringify(spent)}, declared ${JSON.stringify(declared)}`;
      assert.equal(spent.backward, declared.backward, what);
      if (target.topK !== undefined) {
        // Cluster-CAM's count is a bound (empty clusters are dropped); here none is empty.
        assert.equal(spent.forward, declared.forward, what);
      } else if (spent.forward !== declared.forward) {
        assert.ok(declared.backward > 0 && spent.forward === declared.forward - 1, what);
        saving.add(method.name);
      }
    }
  }
  // The methods whose first run is a compiled graph on the clean input, and only those.
  const expected = METHODS.filter(
    (m) =>
      !["ig", "smoothgrad", "smoothgrad-sq", "vargrad"].includes(m.name) &&
      m.cost(chooseMethod(m, SMALL[m.name] ?? {}).options, { layers: [], input: [1, 3, 8, 8] })
        .backward > 0,
  ).map((m) => m.name);
  assert.deepEqual([...saving].sort(), expected.sort());
});
