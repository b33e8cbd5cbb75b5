import assert from "node:assert/strict";
import { test } from "node:test";
import { generateSplit } from "../data/synthetic/generator.ts";
import { Engine } from "../engine/engine.ts";
import type { InputTransform } from "../image/types.ts";
import { Explainer } from "../explain/explainer.ts";
import {
  argmaxPerMap,
  evaluateLocalization,
  inputToOriginal,
  localizationRate,
  peaksInMasks,
  type ObjectMask,
} from "./localization.ts";
import { openModel } from "../io/models.ts";

const identity = (size: number): InputTransform => ({
  originalWidth: size,
  originalHeight: size,
  resizedWidth: size,
  resizedHeight: size,
  cropLeft: 0,
  cropTop: 0,
  inputWidth: size,
  inputHeight: size,
});

function mask(size: number, pixels: [number, number][]): ObjectMask {
  const data = new Uint8Array(size * size);
  for (const [x, y] of pixels) data[y * size + x] = 1;
  return { width: size, height: size, data };
}

test("argmaxPerMap finds each map's maximum, the first one on ties", () => {
  const maps = Float32Array.from([0, 3, 1, 3, /**/ 2, 2, 2, 2, /**/ -5, -1, -2, -9]);
  assert.deepEqual(argmaxPerMap(maps, 3), [1, 0, 1]);
});

test("inputToOriginal undoes the resize and the center crop", () => {
  assert.deepEqual(inputToOriginal(3, 2, identity(8)), [3, 2]);
  // 200x100 resized to 256x128, then the middle 128x128 cropped (left 64).
  const t: InputTransform = {
    originalWidth: 200,
    originalHeight: 100,
    resizedWidth: 256,
    resizedHeight: 128,
    cropLeft: 64,
    cropTop: 0,
    inputWidth: 128,
    inputHeight: 128,
  };
  // Input pixel centre (0.5, 0.5) is resized (64.5, 0.5), original (50.39, 0.39).
  assert.deepEqual(inputToOriginal(0, 0, t), [50, 0]);
  // (127.5 + 64) * 200 / 256 = 149.6; 127.5 * 100 / 128 = 99.6.
  assert.deepEqual(inputToOriginal(127, 127, t), [149, 99]);
  // A crop larger than the image (negative offset) clamps into the image.
  const padded = { ...identity(8), cropLeft: -2, inputWidth: 12 };
  assert.deepEqual(inputToOriginal(0, 0, padded), [0, 0]);
  assert.deepEqual(inputToOriginal(11, 0, padded), [7, 0]);
});

test("the localization rate is the share of maps peaking inside their mask", () => {
  // Three 4x4 maps: peaks at (1, 2), at (3, 0), and a tie between (0, 0) and (2, 2).
  const maps = new Float32Array(3 * 16);
  maps[0 * 16 + 2 * 4 + 1] = 1;
  maps[1 * 16 + 0 * 4 + 3] = 0.5;
  maps[2 * 16 + 0] = 0.7;
  maps[2 * 16 + 2 * 4 + 2] = 0.7;
  const masks = [
    mask(4, [
      [1, 2],
      [2, 2],
    ]),
    mask(4, [[0, 3]]),
    mask(4, [[2, 2]]),
  ];
  const transforms = [identity(4), identity(4), identity(4)];
  const dims = [3, 4, 4];
  assert.deepEqual(peaksInMasks({ data: maps, dims }, masks, transforms), [true, false, false]);
  assert.equal(localizationRate({ data: maps, dims }, masks, transforms), 1 / 3);
  // A tie goes to the first maximum: with the mask on (0, 0) instead, the third map hits.
  masks[2] = mask(4, [[0, 0]]);
  assert.equal(localizationRate({ data: maps, dims }, masks, transforms), 2 / 3);
});

test("peaks are looked up in masks at original resolution", () => {
  // A 2x2 input map of a 6x6 original peaking at (1, 0): the centre of that input pixel is the
  // centre of original pixel (4, 1).
  const map = { data: Float32Array.from([0, 1, 0, 0]), dims: [1, 2, 2] };
  const t: InputTransform = {
    ...identity(6),
    resizedWidth: 2,
    resizedHeight: 2,
    inputWidth: 2,
    inputHeight: 2,
  };
  assert.deepEqual(peaksInMasks(map, [mask(6, [[4, 1]])], [t]), [true]);
  assert.deepEqual(peaksInMasks(map, [mask(6, [[1, 1]])], [t]), [false]);
});

test("Grad-CAM on synth-resnet peaks inside the object on most held-out images", async () => {
  const engine = new Engine();
  try {
    const ctx = await openModel("synth-resnet", engine);
    // The first 50 images of the bundled models' evaluation set.
    const samples = [...generateSplit({ seed: 3, split: "test", count: 50, twoObjectShare: 0 })];
    const rates = await evaluateLocalization(new Explainer(ctx), ["gradcam"], samples);
    assert.ok(rates.get("gradcam")! > 0.5, `localization rate ${rates.get("gradcam")}`);
  } finally {
    await engine.dispose();
  }
});
