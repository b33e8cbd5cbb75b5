// The compiled gradients of small-width torchvision architectures against PyTorch autograd
// (float64 references from scripts/reference/make_gradient_fixtures.py).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { resolveInput } from "../onnx/shapes.ts";
import { Backward, oneHotSeed } from "../runtime/backward.ts";
import { exactGradient } from "./rules/index.ts";
import { inferShapes } from "../engine/probe.ts";
import { readOnnxModel } from "../io/models.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

interface Fixture {
  name: string;
  input: { name: string; dims: number[] };
  output: string;
  activation: { name: string; dims: number[] };
  classes: number[];
  unstable: boolean[];
  inputData: string;
  logits: string;
  gradInput: string;
  gradActivation: string;
}

function floats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

/** max |a - b| / max |b| over one sample's slice. */
function relativeError(a: Float32Array, b: Float32Array, sample: number, n: number): number {
  const per = a.length / n;
  let err = 0;
  let scale = 0;
  for (let i = sample * per; i < (sample + 1) * per; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith(".json"));

test("every reference fixture is checked", () => {
  assert.ok(fixtures.length >= 10, `only ${fixtures.length} fixtures`);
});

for (const file of fixtures) {
  const fx = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as Fixture;
  test(`gradients of ${fx.name} match PyTorch autograd (input and ${fx.activation.name})`, async () => {
    const engine = new Engine();
    try {
      const model = await readOnnxModel(join(FIXTURES, `${fx.name}.onnx`));
      const input = resolveInput(model, [fx.input.dims[2]!, fx.input.dims[3]!]);
      const shapes = await inferShapes(model, engine, input);
      const backward = new Backward(engine, model, shapes, input.name);
      const n = fx.input.dims[0]!;
      const numClasses = shapes.get(fx.output)![1]!;
      const result = await backward.run(
        { wrt: [input.name, fx.activation.name], output: fx.output, ruleSet: exactGradient },
        { data: floats(fx.inputData), dims: fx.input.dims },
        oneHotSeed(fx.classes, numClasses),
      );
      const expected = {
        logits: floats(fx.logits),
        input: floats(fx.gradInput),
        activation: floats(fx.gradActivation),
      };
      let stable = 0;
      for (let s = 0; s < n; s++) {
        assert.ok(
          relativeError(result.output.data, expected.logits, s, n) < 1e-4,
          `logits of sample ${s}`,
        );
        // A sample whose float32 and float64 PyTorch gradients disagree, or where a ReLU-like
        // input or a max-pool runner-up lies within 1e-6 (relative) of the kink or the maximum,
        // may legitimately take the other branch in a float32 engine: the fixture flags it, and
        // it is held only to a loose bound that still catches a wrong rule.
        const bound = fx.unstable[s] ? 5e-2 : 1e-4;
        if (!fx.unstable[s]) stable++;
        const eIn = relativeError(result.grads.get(input.name)!.data, expected.input, s, n);
        const eAct = relativeError(
          result.grads.get(fx.activation.name)!.data,
          expected.activation,
          s,
          n,
        );
        assert.ok(eIn < bound, `input gradient of sample ${s}: relative error ${eIn}`);
        assert.ok(eAct < bound, `activation gradient of sample ${s}: relative error ${eAct}`);
      }
      assert.ok(stable >= n / 2, `only ${stable} of ${n} samples are stable`);
    } finally {
      await engine.dispose();
    }
  });
}
