// One session run per explanation (issue 15): where the targets are top-1 or given classes, the
// compiled gradient or relevance graph picks each row's seed from its own logits (seed-head.ts).
// Checked against the two-run path (a target-picking forward pass, then the compiled graph seeded
// in JavaScript) on the bundled models, and by counting ONNX Runtime session runs through a spy
// binding that wraps onnxruntime-node's.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import type { OrtRuntime } from "../engine/runtime.ts";
import { Explainer } from "../explain/explainer.ts";
import { preprocess } from "../image/preprocess.ts";
import { readImages } from "../io/images.ts";
import { openModel } from "../io/models.ts";
import { buildModel } from "../compiler/testing/graph.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { floatTensor } from "../onnx/tensor.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { NonFiniteError } from "../util/finite.ts";
import { ModelRuntime } from "./runtime.ts";
import type { TargetOptions } from "./targets.ts";

let runs = 0;
const base = new Engine().runtime;
/** onnxruntime-node with every session run counted. */
const counting: OrtRuntime = {
  ...base,
  createSession: async (model, bytes, settings) => {
    const session = await base.createSession(model, bytes, settings);
    return {
      get inputNames() {
        return session.inputNames;
      },
      get outputNames() {
        return session.outputNames;
      },
      release: () => session.release(),
      run: ((...args: Parameters<typeof session.run>) => {
        runs++;
        return session.run(...args);
      }) as typeof session.run,
    };
  },
};
const engine = new Engine({ threads: 1, runtime: counting });
after(() => engine.dispose());

const SAMPLES = ["samples/star.png", "samples/ring.png", "samples/arrow.png"];

async function bundled(name: string): Promise<{ rt: ModelRuntime; images: FloatTensor }> {
  const rt = await openModel(name, engine);
  const pre = preprocess(await readImages(SAMPLES), rt.card.preprocessing);
  return { rt, images: { data: pre.tensor, dims: [...pre.dims] } };
}

function assertSameTensor(actual: FloatTensor, expected: FloatTensor, what: string): void {
  assert.deepEqual(actual.dims, expected.dims, what);
  // Bitwise: the same compiled nodes run on the same seed values.
  assert.ok(
    actual.data.every((v, i) => Object.is(v, expected.data[i])),
    `${what}: not bitwise equal`,
  );
}

const TARGETS: [string, TargetOptions][] = [
  ["top-1", {}],
  ["given classes", { classes: [4, "top1", 0] }],
  ["probability score", { classes: [2, "top1", 7], score: "probability" }],
];

for (const name of ["synth-resnet", "synth-vgg", "synth-mobilenet"]) {
  test(`${name}: gradients and relevance of one run equal the two-run path`, async () => {
    const { rt, images } = await bundled(name);
    const layer = (await rt.defaultLayer()).name;
    for (const [what, target] of TARGETS) {
      const request = { wrt: [layer, rt.input.name] };
      const one = await rt.gradientRows({ pending: images, target }, request);
      assert.ok(one.oneRun, what);
      const rows = await rt.targets(images, target);
      const two = await rt.gradients(rows.input, rows.targets, request);
      assert.deepEqual(one.rows.targets, rows.targets, what);
      for (const w of request.wrt) {
        assertSameTensor(one.result.grads.get(w)!, two.grads.get(w)!, `${what}: ${w}`);
      }
      assertSameTensor(one.result.activations.get(layer)!, two.activations.get(layer)!, what);
      // The logits and scores of the rows come from the compiled run: equal to the forward
      // pass's to float32 rounding (ONNX Runtime fuses the two graphs differently).
      for (let j = 0; j < rows.logits.data.length; j++) {
        const [a, b] = [one.rows.logits.data[j]!, rows.logits.data[j]!];
        assert.ok(Math.abs(a - b) <= 1e-5 * (1 + Math.abs(b)), `${what}: logit ${j}`);
      }
      one.rows.scores.forEach((s, j) =>
        assert.ok(Math.abs(s - rows.scores[j]!) <= 1e-5 * (1 + Math.abs(rows.scores[j]!))),
      );
    }
    for (const start of ["one-hot", "contrastive"] as const) {
      const request = { composite: "epsilon-plus-flat", start, layers: [layer] };
      const one = await rt.relevanceRows({ pending: images }, request);
      assert.ok(one.oneRun);
      const rows = await rt.targets(images);
      const two = await rt.relevance(rows.input, rows.targets, request);
      assert.deepEqual(one.rows.targets, rows.targets);
      assert.deepEqual(one.result.start, two.start);
      assertSameTensor(one.result.input!, two.input!, `${start}: input relevance`);
      const [a, b] = [one.result.layers.get(layer)!, two.layers.get(layer)!];
      assertSameTensor(a.relevance, b.relevance, `${start}: layer relevance`);
    }
  });
}

/** The tiny classifier with its last layer's weights and biases replaced. */
function tiny(classes: number, weight: (i: number) => number, bias: number[]): ModelRuntime {
  const model = tinyClassifier({ classes });
  const graph = model.proto.graph;
  graph.initializer = graph.initializer.map((t) => {
    if (t.name === "fc.bias") return floatTensor("fc.bias", [classes], bias);
    if (t.name !== "fc.weight") return t;
    const values = Float32Array.from({ length: classes * 4 }, (_, i) => weight(i));
    return floatTensor("fc.weight", [classes, 4], values);
  });
  const card = {
    name: "tiny",
    labels: [],
    preprocessing: { size: [16, 16] as [number, number], resize: "stretch" as const },
  };
  return new ModelRuntime({ model, card, bundled: false }, engine);
}

function tinyImages(n: number): FloatTensor {
  const data = Float32Array.from({ length: n * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));
  return { data, dims: [n, 3, 16, 16] };
}

async function assertOneRunMatches(rt: ModelRuntime, images: FloatTensor, target: TargetOptions) {
  const request = { wrt: [rt.input.name] };
  const one = await rt.gradientRows({ pending: images, target }, request);
  assert.ok(one.oneRun);
  const rows = await rt.targets(images, target);
  const two = await rt.gradients(rows.input, rows.targets, request);
  assert.deepEqual(one.rows.targets, rows.targets);
  assertSameTensor(one.result.grads.get(rt.input.name)!, two.grads.get(rt.input.name)!, "grads");
  return one.rows.targets.classes;
}

test("ties go to the lower class, as resolveTargets ranks them", async () => {
  // Classes 1 and 3 have the same weights and the highest bias: their logits tie on every image.
  const rows = (i: number) => Math.floor(i / 4);
  const rt = tiny(
    5,
    (i) => ([1, 3].includes(rows(i)) ? ((i % 4) + 1) * 0.1 : 0.05 * rows(i)),
    [0, 9, 0, 9, 0],
  );
  assert.deepEqual(await assertOneRunMatches(rt, tinyImages(2), {}), [1, 1]);
  assert.deepEqual(await assertOneRunMatches(rt, tinyImages(2), { classes: [3, 2] }), [3, 2]);
});

test("a one-unit binary model: class 1 for a positive logit (seed +1), else class 0 (seed -1)", async () => {
  const weight = (i: number) => 0.3 * Math.cos(i);
  for (const [bias, top] of [
    [5, 1],
    [-5, 0],
  ] as const) {
    const rt = tiny(1, weight, [bias]);
    const images = tinyImages(2);
    assert.deepEqual(await assertOneRunMatches(rt, images, {}), [top, top]);
    assert.deepEqual(await assertOneRunMatches(rt, images, { classes: [0, 1] }), [0, 1]);
    await assertOneRunMatches(rt, images, { score: "probability" });
    // The seed's sign flips the gradient: class 0 is the negated logit.
    const request = { wrt: [rt.input.name] };
    const g0 = await rt.gradientRows({ pending: images, target: { classes: 0 } }, request);
    const g1 = await rt.gradientRows({ pending: images, target: { classes: 1 } }, request);
    const [a, b] = [g0.result.grads.get(rt.input.name)!, g1.result.grads.get(rt.input.name)!];
    assert.ok(a.data.some((v) => v !== 0));
    assert.ok(a.data.every((v, i) => v === -b.data[i]!));
  }
});

test("top-k takes the target-picking pass first; bad targets and NaN logits are named", async () => {
  const rt = tiny(4, (i) => 0.2 * Math.sin(i), [0, 1, 2, 3]);
  const images = tinyImages(2);
  const request = { wrt: [rt.input.name] };
  const topK = await rt.gradientRows({ pending: images, target: { topK: 2 } }, request);
  assert.equal(topK.oneRun, false);
  assert.deepEqual(topK.rows.targets.image, [0, 0, 1, 1]);
  await assert.rejects(
    rt.gradientRows({ pending: images, target: { classes: 4 } }, request),
    /Target class 4 is out of range: target classes must be from 0 to 3/,
  );
  // A NaN bias makes every logit NaN: the images are named after the one run.
  const nan = tiny(4, () => 0.1, [0, Number.NaN, 0, 0]);
  await assert.rejects(
    nan.gradientRows({ pending: images }, request),
    (e: unknown) =>
      e instanceof NonFiniteError &&
      e.images.join() === "0,1" &&
      /logits of model "tiny"/.test(e.message),
  );
});

test("before opset 9 (no Where, no int64 Less) the targets take a forward pass first", async () => {
  const classes: number[][] = [];
  for (const opset of [8, 13]) {
    const model = buildModel({
      inputs: [{ name: "input", dims: [3, 4, 4] }],
      constants: [
        {
          name: "w",
          dims: [3, 3, 1, 1],
          data: Float32Array.from({ length: 9 }, (_, i) => Math.cos(i)),
        },
      ],
      nodes: [
        { op: "Conv", inputs: ["input", "w"], outputs: ["conv"] },
        { op: "GlobalAveragePool", inputs: ["conv"], outputs: ["pool"] },
        { op: "Flatten", inputs: ["pool"], outputs: ["logits"] },
      ],
      outputs: ["logits"],
      opset,
    });
    const card = {
      name: `opset ${opset}`,
      labels: [],
      preprocessing: { size: [4, 4] as [number, number], resize: "stretch" as const },
    };
    const rt = new ModelRuntime({ model, card, bundled: false }, engine);
    const images = {
      data: Float32Array.from({ length: 96 }, (_, i) => Math.sin(i)),
      dims: [2, 3, 4, 4],
    };
    const run = await rt.gradientRows({ pending: images }, { wrt: ["input"] });
    assert.equal(run.oneRun, opset >= 9);
    classes.push(run.rows.targets.classes);
  }
  assert.deepEqual(classes[0], classes[1]);
});

test("an explanation by a gradient or relevance method is one session run, with the two-run maps", async () => {
  const { rt, images } = await bundled("synth-resnet");
  const explainer = new Explainer(rt);
  const two = {
    data: images.data.subarray(0, (2 * images.data.length) / 3),
    dims: [2, 3, 128, 128],
  };
  const top1: TargetOptions = {};
  const given: TargetOptions = { classes: [3, "top1"], score: "probability" };
  const topK: TargetOptions = { topK: 2 };
  // Session runs of an explanation from images, per target option.
  const cases: [string[], [TargetOptions, number][]][] = [
    [
      ["gradcam"],
      [
        [top1, 1],
        [given, 1],
        [topK, 2],
      ],
    ],
    [["gradcam++", "xgradcam", "layercam", "hirescam", "gradcam-elementwise"], [[given, 1]]],
    [
      ["saliency"],
      [
        [top1, 1],
        [given, 1],
        [topK, 2],
      ],
    ],
    [["gradxinput", "saliency", "gradient"], [[given, 1]]],
    [["guidedbackprop"], [[top1, 1]]],
    [["deconvnet"], [[given, 1]]],
    [
      ["lrp"],
      [
        [top1, 1],
        [given, 1],
        [topK, 2],
      ],
    ],
    [
      ["relevancecam"],
      [
        [top1, 1],
        [given, 1],
      ],
    ],
    // Guided backprop and Grad-CAM are two graphs: the first picks the targets.
    [["guidedgradcam"], [[top1, 2]]],
    // Grad-CAM's run picks the targets for saliency's and LRP's.
    [["gradcam", "saliency", "lrp"], [[top1, 3]]],
    // The activation run's logits pick any targets, top-k too.
    [
      ["eigencam"],
      [
        [top1, 1],
        [given, 1],
        [topK, 1],
      ],
    ],
  ];
  for (const [methods, targets] of cases) {
    for (const [target, expected] of targets) {
      const request = { methods, target };
      await explainer.explain(two, request);
      runs = 0;
      const e = await explainer.explain(two, request);
      const what = `${methods.join(", ")} (${JSON.stringify(target)})`;
      assert.equal(runs, expected, `${what}: ${runs} session runs`);
      // The two-run path: targets picked by a forward pass first.
      const rows = await rt.targets(two, target);
      runs = 0;
      const reference = await explainer.explain(rows, request);
      // A separate target-picking pass is one run more, and one forward pass more in the count.
      const separate = expected - runs;
      assert.ok(separate === 0 || (separate === 1 && target.topK !== undefined), what);
      assert.deepEqual(e.targets, reference.targets, what);
      assert.equal(e.sharedPasses.forward, reference.sharedPasses.forward - 1 + separate, what);
      assert.equal(e.sharedPasses.backward, reference.sharedPasses.backward, what);
      e.results.forEach((r, i) => {
        const ref = reference.results[i]!;
        assert.deepEqual(r.passes, ref.passes, what);
        r.raw.forEach((t, j) => assertSameTensor(t, ref.raw[j]!, `${what}: ${r.method.name}`));
        assertSameTensor(r.map, ref.map, `${what}: ${r.method.name} map`);
      });
    }
  }
});
