import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { ModelRuntime } from "../runtime/runtime.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { createRng } from "../util/random.ts";
import { assertClose } from "../cam/testing/assertions.ts";
import { normalizeInPlace } from "../tensor/maps.ts";
import { Explainer } from "./explainer.ts";
import { AUGMENTATIONS, augmentRows, flipAxis, mergeVariants } from "./smoothing.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { gatherRows } from "../tensor/tensor.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

const ctx = new ModelRuntime(
  {
    model: tinyClassifier({ classes: 4 }),
    card: {
      name: "tiny",
      labels: ["a", "b", "c", "d"],
      preprocessing: { size: [16, 16], resize: "stretch" },
    },
    bundled: false,
  },
  engine,
);
const gradient = ["gradcam", "layercam", "eigencam"];

function randomImages(n: number, seed: number): FloatTensor {
  const rng = createRng(seed);
  const dims = [n, 3, 16, 16];
  return { data: Float32Array.from({ length: n * 3 * 256 }, () => rng.normal()), dims };
}

describe("augmentation helpers", () => {
  test("the six variants are flip x intensity 0.9, 1, 1.1", () => {
    assert.deepEqual(
      AUGMENTATIONS.map((a) => [a.flip, a.multiplier]),
      [
        [false, 0.9],
        [false, 1],
        [false, 1.1],
        [true, 0.9],
        [true, 1],
        [true, 1.1],
      ],
    );
  });

  test("flipAxis reverses one axis of a row-major tensor", () => {
    const t = { data: Float32Array.from({ length: 12 }, (_, i) => i), dims: [2, 3, 2] };
    assert.deepEqual([...flipAxis(t, 1).data], [4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
    assert.deepEqual([...flipAxis(t, 2).data], [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10]);
    assert.deepEqual(flipAxis(flipAxis(t, 0), 0), t);
  });

  test("augmentRows puts each row's variants together and flips the width axis", () => {
    // Two rows of a 1-channel 1x3 image (NCHW), and the same pixels as NHWC [2, 1, 3, 1].
    const data = Float32Array.from([1, 2, 3, 10, 20, 30]);
    const expected = [
      [1, 2, 3],
      [10, 20, 30],
    ].flatMap((row) =>
      AUGMENTATIONS.flatMap(({ flip, multiplier }) =>
        (flip ? [...row].reverse() : row).map((v) => Math.fround(v * multiplier)),
      ),
    );
    const nchw = augmentRows({ data, dims: [2, 1, 1, 3] }, "NCHW");
    assert.deepEqual(nchw.dims, [12, 1, 1, 3]);
    assert.deepEqual([...nchw.data], expected);
    const nhwc = augmentRows({ data, dims: [2, 1, 3, 1] }, "NHWC");
    assert.deepEqual(nhwc.dims, [12, 1, 3, 1]);
    assert.deepEqual([...nhwc.data], expected);
  });

  test("mergeVariants flips flipped variants back before averaging", () => {
    const base = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ];
    // Each row's maps as the explainer would return them for a flip-symmetric method: flipped
    // variants see the mirrored picture. Scaled by the multiplier so that the mean is visible.
    const rows = base.flatMap((row) =>
      AUGMENTATIONS.flatMap(({ flip, multiplier }) =>
        (flip ? [row[1]!, row[0]!, row[3]!, row[2]!] : row).map((v) => v * multiplier),
      ),
    );
    const merged = mergeVariants({ data: Float32Array.from(rows), dims: [12, 2, 2] });
    assert.deepEqual(merged.dims, [2, 2, 2]);
    assertClose(merged.data, Float32Array.from(base.flat()), 1e-6);
  });
});

describe("augmentation smoothing in the explain service", () => {
  test("equals each variant explained on its own with the unaugmented targets, flipped back, averaged and normalised", async () => {
    const explainer = new Explainer(ctx);
    const images = randomImages(3, 1);
    const options = { methods: gradient, target: { topK: 2 } };
    const smoothed = await explainer.explain(images, { ...options, augSmooth: true });
    const plain = await explainer.explain(images, options);
    assert.deepEqual(smoothed.targets, plain.targets);
    assertClose(smoothed.scores, plain.scores, 1e-5);
    assert.deepEqual(smoothed.logits.dims, plain.logits.dims);

    const rows = gatherRows(images, plain.targets.image);
    const target = { classes: plain.targets.classes };
    const sums = gradient.map(() => new Float32Array(6 * 16 * 16));
    for (const { flip, multiplier } of AUGMENTATIONS) {
      const variant = flip ? flipAxis(rows, 3) : { ...rows };
      variant.data = variant.data.map((v) => v * multiplier);
      const e = await explainer.explain(variant, { methods: gradient, target });
      e.results.forEach((r, m) => {
        const map = flip ? flipAxis(r.map, 2) : r.map;
        map.data.forEach((v, j) => (sums[m]![j]! += v / AUGMENTATIONS.length));
      });
    }
    smoothed.results.forEach((r, m) => {
      assert.equal(r.method.name, gradient[m]);
      assert.deepEqual(r.map.dims, [6, 16, 16]);
      assert.deepEqual(r.raw[0]!.dims, [6, 16, 16]);
      assertClose(r.map.data, normalizeInPlace(sums[m]!, 6), 1e-5);
      assert.equal(r.passes.forward, 0);
    });
  });

  test("is mirror-symmetric: the map of a flipped image is the flipped map", async () => {
    const explainer = new Explainer(ctx);
    const images = randomImages(2, 2);
    const options = { methods: gradient, target: { classes: [1, 3] }, augSmooth: true };
    const a = await explainer.explain(images, options);
    const b = await explainer.explain(flipAxis(images, 3), options);
    a.results.forEach((r, m) => {
      assertClose(flipAxis(b.results[m]!.map, 2).data, r.map.data, 1e-5);
      assertClose(flipAxis(b.results[m]!.raw[0]!, 2).data, r.raw[0]!.data, 1e-4);
    });
  });
});
