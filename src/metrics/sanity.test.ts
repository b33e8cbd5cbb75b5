import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Engine, Tensor } from "../engine/engine.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { OnnxModel } from "../onnx/model.ts";
import { DataType } from "../onnx/proto.ts";
import { floatTensor, tensorData } from "../onnx/tensor.ts";
import { createRng } from "../util/random.ts";
import {
  averageRanks,
  cascadingRandomization,
  parameterLayers,
  spearman,
  ssim,
  structuralSimilarity,
} from "./sanity.ts";
import { loadModel } from "../io/models.ts";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

describe("Spearman rank correlation", () => {
  it("averages the ranks of ties", () => {
    assert.deepEqual(Array.from(averageRanks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
  });

  it("is 1 for identical or monotonically related values, -1 for reversed, NaN for constant", () => {
    const a = [0.3, -1, 2, 5, 4.5, 0];
    close(spearman(a, a), 1);
    close(
      spearman(
        a,
        a.map((v) => v ** 3 + 7),
      ),
      1,
    );
    close(
      spearman(
        a,
        a.map((v) => -v),
      ),
      -1,
    );
    assert.ok(Number.isNaN(spearman(a, new Array(6).fill(2))));
  });

  it("with ties: 8 / sqrt(95) for [1..5] against [5, 6, 7, 8, 7]", () => {
    // Ranks of b: 1, 2, 3.5, 5, 3.5; centred: a -2..2, b -2, -1, .5, 2, .5; sum ab 8, aa 10, bb 9.5.
    close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / Math.sqrt(95));
  });
});

describe("SSIM", () => {
  const [h, w] = [16, 19];
  const rng = createRng(2);
  const a = Float32Array.from({ length: h * w }, () => rng.next());
  const b = Float32Array.from({ length: h * w }, (_, p) => a[p]! * 0.5 + rng.next() * 0.5);

  /** SSIM straight from the definition: 2-D Gaussian windows at every valid position. */
  function direct(x: ArrayLike<number>, y: ArrayLike<number>, range: number): number {
    const g = (i: number) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
    let total = 0;
    for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) total += g(i) * g(j);
    let sum = 0;
    let count = 0;
    for (let oy = 0; oy + 11 <= h; oy++) {
      for (let ox = 0; ox + 11 <= w; ox++) {
        let [mx, my, sxx, syy, sxy] = [0, 0, 0, 0, 0];
        for (let i = 0; i < 11; i++) {
          for (let j = 0; j < 11; j++) {
            const k = (g(i) * g(j)) / total;
            const p = (oy + i) * w + ox + j;
            mx += k * x[p]!;
            my += k * y[p]!;
            sxx += k * x[p]! ** 2;
            syy += k * y[p]! ** 2;
            sxy += k * x[p]! * y[p]!;
          }
        }
        const [c1, c2] = [(0.01 * range) ** 2, (0.03 * range) ** 2];
        const [vx, vy, cov] = [sxx - mx * mx, syy - my * my, sxy - mx * my];
        sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count++;
      }
    }
    return sum / count;
  }

  it("is 1 for identical maps and for maps equal after min-max normalisation", () => {
    close(ssim(a, a, h, w), 1);
    close(
      ssim(
        a,
        a.map((v) => 3 * v + 2),
        h,
        w,
      ),
      1,
      1e-6,
    );
  });

  it("of two constant images is (2 c1 c2 + C1) / (c1^2 + c2^2 + C1)", () => {
    const c = structuralSimilarity(
      new Array<number>(h * w).fill(0.2),
      new Array<number>(h * w).fill(0.7),
      h,
      w,
    );
    const c1 = 0.01 ** 2;
    close(c, (2 * 0.2 * 0.7 + c1) / (0.2 ** 2 + 0.7 ** 2 + c1));
  });

  it("matches the definition computed window by window", () => {
    close(structuralSimilarity(a, b, h, w), direct(a, b, 1));
    close(structuralSimilarity(a, b, h, w, 2), direct(a, b, 2));
    const lo = Math.min(...b);
    const span = Math.max(...b) - lo;
    const bn = b.map((v) => (v - lo) / span);
    const al = Math.min(...a);
    const an = a.map((v) => (v - al) / (Math.max(...a) - al));
    close(ssim(a, b, h, w), direct(an, bn, 1), 1e-6);
    assert.ok(ssim(a, b, h, w) < 0.9);
    assert.throws(() => ssim(a.subarray(0, 100), b.subarray(0, 100), 10, 10), /at least 11x11/);
  });
});

describe("cascading model-parameter randomization", () => {
  it("re-initialises the layers from the top down, PyTorch-style, deterministically", () => {
    const model = tinyClassifier({ classes: 5 });
    const steps = cascadingRandomization(model, 9);
    assert.deepEqual(
      steps.map((s) => s.layer),
      ["Gemm_output", "Conv_conv"],
    );
    const values = (m: OnnxModel, name: string) =>
      Array.from(tensorData(m.graph.initializer.find((t) => t.name === name)!) as Float32Array);
    const original = (name: string) => model.graph.initializer.find((t) => t.name === name);
    const [top, all] = steps.map((s) => s.model) as [OnnxModel, OnnxModel];
    // Step 0: only the classifier (fan-in 4: bound 1/2); the conv is the original tensor.
    for (const name of ["fc.weight", "fc.bias"]) {
      const v = values(top, name);
      assert.ok(v.every((x) => Math.abs(x) <= 0.5) && v.some((x) => Math.abs(x) > 0.25));
      assert.notDeepEqual(v, values(model, name));
    }
    assert.equal(
      top.graph.initializer.find((t) => t.name === "conv.weight"),
      original("conv.weight"),
    );
    // Step 1: the conv too (fan-in 3 * 3 * 3), with the classifier as in step 0.
    const conv = values(all, "conv.weight");
    assert.ok(conv.every((x) => Math.abs(x) <= 1 / Math.sqrt(27)));
    assert.equal(new Set(conv).size, conv.length);
    assert.deepEqual(values(all, "fc.weight"), values(top, "fc.weight"));
    // The original is untouched; the same seed repeats, another differs.
    assert.deepEqual(
      values(model, "fc.bias"),
      Array.from(tensorData(original("fc.bias")!) as Float32Array),
    );
    const again = cascadingRandomization(model, 9);
    assert.deepEqual(values(again[1]!.model, "conv.weight"), conv);
    assert.notDeepEqual(values(cascadingRandomization(model, 10)[1]!.model, "conv.weight"), conv);
  });

  it("takes a MatMul's fan-in from its contracted axis and its bias Add with it", () => {
    const info = (name: string, dims: number[]) => ({
      name,
      type: {
        tensor_type: {
          elem_type: DataType.FLOAT,
          shape: { dim: dims.map((d) => ({ dim_value: d })) },
        },
      },
    });
    const proto = {
      ir_version: 8,
      opset_import: [{ domain: "", version: 13 }],
      graph: {
        name: "linear",
        node: [
          { op_type: "MatMul", name: "fc", input: ["x", "w"], output: ["h"], attribute: [] },
          { op_type: "Add", name: "bias", input: ["h", "b"], output: ["y"], attribute: [] },
        ],
        initializer: [
          floatTensor("w", [100, 3], new Float32Array(300)),
          floatTensor("b", [3], new Float32Array(3)),
        ],
        input: [info("x", [1, 100])],
        output: [info("y", [1, 3])],
        value_info: [],
      },
    };
    const model = OnnxModel.fromBytes(new OnnxModel(proto, "linear").toBytes());
    const [layer] = parameterLayers(model);
    assert.equal(layer?.fanIn, 100);
    assert.deepEqual(layer?.random, ["w", "b"]);
    const [step] = cascadingRandomization(model, 1);
    const bias = tensorData(
      step!.model.graph.initializer.find((t) => t.name === "b")!,
    ) as Float32Array;
    assert.ok(bias.every((v) => v !== 0 && Math.abs(v) <= 0.1));
  });

  it("resets a BatchNormalization after a conv, and the randomised bundled model still runs", async () => {
    const { model } = await loadModel("synth-resnet");
    const steps = cascadingRandomization(model, 0);
    assert.equal(steps.length, 12); // 11 Conv + 1 Gemm
    assert.equal(steps[0]!.layer, "/classifier/Gemm");
    assert.equal(steps[11]!.layer, "/features/features.0/Conv");
    const last = steps[11]!.model;
    const tensor = (name: string) =>
      tensorData(last.graph.initializer.find((t) => t.name === name)!);
    assert.ok((tensor("features.1.running_var") as Float32Array).every((v) => v === 1));
    assert.ok((tensor("features.1.running_mean") as Float32Array).every((v) => v === 0));
    assert.ok((tensor("features.1.weight") as Float32Array).every((v) => v === 1));
    const engine = new Engine({ threads: 1 });
    try {
      const input = new Tensor(
        "float32",
        new Float32Array(3 * 128 * 128).fill(0.25),
        [1, 3, 128, 128],
      );
      const run = async (m: OnnxModel) =>
        (await (await engine.session(m)).run({ input }))["logits"]!.data as Float32Array;
      const [before, after] = [await run(model), await run(last)];
      assert.ok(after.every(Number.isFinite));
      assert.notDeepEqual(after, before);
    } finally {
      await engine.dispose();
    }
  });
});
