import assert from "node:assert/strict";
import { test } from "node:test";
import { applyColormap } from "./colormap.ts";
import { normalizeMap, overlayHeatmap } from "./overlay.ts";
import type { FloatMap, RgbImage } from "./types.ts";

const solid = (width: number, height: number, v: number): RgbImage => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(v),
});
const map = (width: number, height: number, values: number[]): FloatMap => ({
  width,
  height,
  data: Float32Array.from(values),
});

test("alpha blends image and colour: round((1 - a) * image + a * colour)", () => {
  const out = overlayHeatmap(solid(2, 1, 100), map(2, 1, [0, 1]), { colormap: "gray" });
  // min-max puts the left pixel at gray(0) = 0 and the right at gray(1) = 255.
  assert.deepEqual([...out.data], [50, 50, 50, 178, 178, 178]); // 177.5 rounds up
  const light = overlayHeatmap(solid(2, 1, 100), map(2, 1, [0, 1]), {
    colormap: "gray",
    alpha: 0.2,
  });
  assert.deepEqual([...light.data], [80, 80, 80, 131, 131, 131]);
});

test("alpha 0 keeps the image and alpha 1 shows only the colormap", () => {
  const image: RgbImage = { width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  const m = map(2, 1, [3, 7]);
  assert.deepEqual(overlayHeatmap(image, m, { alpha: 0 }).data, image.data);
  assert.deepEqual(
    [...overlayHeatmap(image, m, { alpha: 1 }).data],
    [...applyColormap([0, 1], "jet")],
  );
});

test("a smaller map is resized bilinearly to the image", () => {
  // 2x1 map [0, 1] stretched over 4 pixels: 0, 0.25, 0.75, 1 (half-pixel rule).
  const out = overlayHeatmap(solid(4, 1, 0), map(2, 1, [5, 9]), { colormap: "gray", alpha: 1 });
  assert.deepEqual(
    [...out.data].filter((_, i) => i % 3 === 0),
    [...applyColormap([0, 0.25, 0.75, 1], "gray")].filter((_, i) => i % 3 === 0),
  );
});

test("normalize modes: minmax, none (clamped), signed", () => {
  assert.deepEqual([...normalizeMap(Float32Array.from([2, 4, 6]), "minmax")], [0, 0.5, 1]);
  assert.deepEqual([...normalizeMap(Float32Array.from([3, 3]), "minmax")], [0, 0]);
  assert.deepEqual([...normalizeMap(Float32Array.from([-1, 0.5, 2]), "none")], [-1, 0.5, 2]);
  assert.deepEqual([...normalizeMap(Float32Array.from([-2, 0, 1]), "signed")], [0, 0.5, 0.75]);
  const clamped = overlayHeatmap(solid(2, 1, 0), map(2, 1, [-1, 2]), {
    normalize: "none",
    colormap: "gray",
    alpha: 1,
  });
  assert.deepEqual([...clamped.data], [0, 0, 0, 255, 255, 255]);
});

test("signed maps default to coolwarm with 0 in the middle", () => {
  const out = overlayHeatmap(solid(3, 1, 0), map(3, 1, [-1, 0, 1]), {
    normalize: "signed",
    alpha: 1,
  });
  assert.deepEqual([...out.data], [...applyColormap([0, 0.5, 1], "coolwarm")]);
});

test("NaN map values (outside the crop) leave the image untouched", () => {
  const out = overlayHeatmap(solid(2, 1, 77), map(2, 1, [NaN, 1]), { colormap: "gray" });
  assert.deepEqual([...out.data.subarray(0, 3)], [77, 77, 77]);
  // The one finite value makes a constant map, which min-max sends to gray(0): 77 / 2 -> 39.
  assert.deepEqual([...out.data.subarray(3, 6)], [39, 39, 39]);
});

test("invalid options are rejected", () => {
  assert.throws(
    () => overlayHeatmap(solid(1, 1, 0), map(1, 1, [0]), { alpha: 1.5 }),
    /alpha must be in \[0, 1\]/,
  );
  assert.throws(
    () => overlayHeatmap(solid(1, 1, 0), map(2, 2, [0]), {}),
    /heatmap is 2x2 and needs 4 values, got 1/,
  );
});
