import assert from "node:assert/strict";
import { test } from "node:test";
import { bilinearTaps, resizeImage } from "./resample.ts";
import type { RgbImage } from "./types.ts";

/** Pillow's output for pattern(7, 5) resized to 11x3 (see the byte-for-byte test). */
const PIL_7x5_TO_11x3 = [
  39, 92, 145, 59, 112, 165, 85, 138, 181, 112, 165, 139, 139, 152, 136, 167, 110, 163, 124, 137,
  190, 111, 164, 177, 138, 191, 111, 165, 139, 125, 185, 91, 144, 125, 178, 89, 154, 142, 118, 181,
  105, 147, 131, 145, 115, 132, 144, 124, 172, 111, 164, 139, 151, 114, 138, 152, 102, 178, 102,
  142, 141, 98, 151, 105, 101, 154, 69, 122, 175, 107, 160, 147, 147, 200, 110, 107, 160, 93, 120,
  133, 116, 173, 116, 169, 156, 76, 129, 129, 76, 129, 89, 129, 182, 129, 123, 176, 167, 111, 164,
];

/** A grey image from one row of byte values. */
function grayRow(values: number[]): RgbImage {
  return {
    width: values.length,
    height: 1,
    data: Uint8Array.from(values.flatMap((v) => [v, v, v])),
  };
}

const red = (image: RgbImage): number[] => [...image.data].filter((_, i) => i % 3 === 0);

/** The deterministic test pattern the Pillow fixtures below were computed from. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + x * y * 13) % 256;
    }
  }
  return { width, height, data };
}

test("halving uses Pillow's stretched triangle filter: weights 3/7, 3/7, 1/7", () => {
  // Output 0 is centred at input 1.0; the filter spans 2 input pixels each side, so pixels 0, 1, 2
  // (centres 0.5, 1.5, 2.5) get 1 - |d| / 2 = 0.75, 0.75, 0.25 before normalising.
  const taps = bilinearTaps(4, 2);
  assert.deepEqual([...taps.first], [0, 1]);
  assert.deepEqual([...taps.count], [3, 3]);
  const one = 2 ** 22;
  const w = [...taps.weights.subarray(0, 3)].map((k) => k / one);
  assert.ok(Math.abs(w[0]! - 3 / 7) < 1e-6 && Math.abs(w[1]! - 3 / 7) < 1e-6);
  assert.ok(Math.abs(w[2]! - 1 / 7) < 1e-6);
});

test("downscaling a row by 2 gives the triangle-weighted averages", () => {
  // (3*0 + 3*70 + 1*140) / 7 = 50 and (1*70 + 3*140 + 3*210) / 7 = 160. Note this is not the box
  // average (35, 175): Pillow's antialiasing filter reaches one pixel further.
  assert.deepEqual(red(resizeImage(grayRow([0, 70, 140, 210]), 2, 1)), [50, 160]);
});

test("a 4x4 image downscaled to 2x2 is filtered separably in both directions", () => {
  const data = new Uint8Array(4 * 4 * 3);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) data.set([70 * x, 70 * y, 9], (y * 4 + x) * 3);
  }
  const out = resizeImage({ width: 4, height: 4, data }, 2, 2);
  assert.deepEqual([...out.data], [50, 50, 9, 160, 50, 9, 50, 160, 9, 160, 160, 9]);
});

test("results round half up like Pillow's fixed point", () => {
  // 3 -> 2: weights 5/8, 3/8 and 3/8, 5/8, so [0, 4, 8] gives 1.5 and 6.5.
  assert.deepEqual(red(resizeImage(grayRow([0, 4, 8]), 2, 1)), [2, 7]);
});

test("upscaling is plain bilinear with half-pixel centres and renormalised edges", () => {
  assert.deepEqual(red(resizeImage(grayRow([0, 100]), 4, 1)), [0, 25, 75, 100]);
});

test("a constant image stays constant at any size", () => {
  const image = { width: 13, height: 7, data: new Uint8Array(13 * 7 * 3).fill(201) };
  for (const [w, h] of [
    [5, 3],
    [1, 1],
    [40, 9],
    [13, 2],
  ] as const) {
    const out = resizeImage(image, w, h);
    assert.equal(out.width, w);
    assert.equal(out.height, h);
    assert.ok(out.data.every((v) => v === 201));
  }
});

test("matches Pillow 9.4 Image.resize(BILINEAR) byte for byte", () => {
  // Expected bytes from PIL.Image.fromarray(pattern).resize(size, Image.BILINEAR).
  assert.deepEqual(
    [...resizeImage(pattern(7, 5), 3, 4).data],
    [
      58, 111, 150, 125, 151, 178, 166, 150, 121, 154, 161, 144, 151, 130, 123, 120, 127, 157, 123,
      130, 113, 153, 132, 125, 155, 108, 138, 117, 170, 128, 132, 113, 140, 120, 109, 162,
    ],
  );
  assert.deepEqual([...resizeImage(pattern(7, 5), 11, 3).data], PIL_7x5_TO_11x3);
});

test("same size returns an equal copy, and bad sizes are rejected", () => {
  const image = pattern(3, 2);
  const out = resizeImage(image, 3, 2);
  assert.deepEqual(out.data, image.data);
  assert.notEqual(out.data, image.data);
  assert.throws(() => resizeImage(image, 0, 2), /positive integers/);
  assert.throws(() => resizeImage(image, 2.5, 2), /positive integers/);
});
