// The compiled gradients of the reduced torchvision zoo (src/models/zoo, made by
// scripts/reference/make_zoo.py) against PyTorch float64 autograd, to the input and to each
// member's `act` activation, for every plain export at opsets 13, 17 and 21. The exports are
// dynamic-batch NCHW float32 with 2-D logits; their shape computations are folded first, as the
// model-intake pipeline does at load.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { foldStaticShapes } from "../models/intake/fold-shapes.ts";
import { resolveInput } from "../onnx/shapes.ts";
import { floats, rowRelative } from "../testing/fixture-encoding.ts";
import { Backward, oneHotSeed } from "../runtime/backward.ts";
import { exactGradient } from "./rules/index.ts";
import { inferShapes } from "../engine/probe.ts";
import { readOnnxModel } from "../io/models.ts";

const ZOO = join(dirname(fileURLToPath(import.meta.url)), "..", "models", "zoo");
const VARIANTS = new Set(["op13", "op17", "op21"]);
const BOUND = 1e-4;

interface ZooMember {
  member: string;
  input: { name: string; dims: number[] };
  act: { name: string; dims: number[] };
  classes: number[];
  unstable: boolean[];
  inputData: string;
  logits: string;
  gradInput: string;
  gradActivation: string;
  exports: { file: string; variant: string }[];
}

const members = readdirSync(ZOO)
  .filter((f) => f.endsWith(".zoo.json"))
  .map((f) => JSON.parse(readFileSync(join(ZOO, f), "utf8")) as ZooMember);

// The architectures issue 11 names; the zoo holds more (ResNet, VGG, DenseNet, ...), all checked.
const REQUIRED = [
  "convnext_tiny",
  "vit_b_16",
  "swin_t",
  "efficientnet_b0",
  "regnet_x",
  "regnet_y",
  "shufflenet_v2",
  "mnasnet",
  "googlenet",
  "inception_v3",
];

test("every required zoo member has op13 and op17 exports to check", () => {
  for (const name of REQUIRED) {
    const variants = members.find((m) => m.member === name)?.exports.map((e) => e.variant) ?? [];
    assert.ok(variants.includes("op13") && variants.includes("op17"), `${name}: [${variants}]`);
  }
});

for (const zoo of members) {
  const n = zoo.input.dims[0]!;
  const unstable = zoo.unstable.filter(Boolean).length;
  for (const exp of zoo.exports.filter((e) => VARIANTS.has(e.variant))) {
    const skipped = unstable === 0 ? "" : `, ${unstable} of ${n} samples unstable and skipped`;
    test(`gradients of ${zoo.member} ${exp.variant} match PyTorch autograd (input and ${zoo.act.name}${skipped})`, async (t) => {
      const engine = new Engine();
      try {
        const loaded = await readOnnxModel(join(ZOO, exp.file));
        const input = resolveInput(loaded, [zoo.input.dims[2]!, zoo.input.dims[3]!]);
        const { model } = await foldStaticShapes(loaded, engine, input);
        const shapes = await inferShapes(model, engine, input);
        const output = model.outputs()[0]!.name;
        const backward = new Backward(engine, model, shapes, input.name);
        const result = await backward.run(
          { wrt: [input.name, zoo.act.name], output, ruleSet: exactGradient },
          { data: floats(zoo.inputData), dims: zoo.input.dims },
          oneHotSeed(zoo.classes, shapes.get(output)![1]!),
        );
        const errors = {
          logits: rowRelative(result.output.data, floats(zoo.logits), n),
          input: rowRelative(result.grads.get(input.name)!.data, floats(zoo.gradInput), n),
          act: rowRelative(result.grads.get(zoo.act.name)!.data, floats(zoo.gradActivation), n),
        };
        t.diagnostic(
          Object.entries(errors)
            .map(([k, e]) => `${k} ${e.map((v) => v.toExponential(2)).join(" ")}`)
            .join("; "),
        );
        // A flagged sample (a ReLU-like input or a max-pool runner-up within float32 reach of
        // its kink, or float32 and float64 PyTorch disagreeing) may take the other branch here.
        for (let s = 0; s < n; s++) {
          if (zoo.unstable[s]) continue;
          for (const [k, e] of Object.entries(errors)) {
            assert.ok(e[s]! < BOUND, `${k} of sample ${s}: relative error ${e[s]}`);
          }
        }
        assert.ok(unstable < n, "every sample is unstable");
      } finally {
        await engine.dispose();
      }
    });
  }
}
