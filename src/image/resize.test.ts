import assert from "node:assert/strict";
import { test } from "node:test";
import { mapToOriginal, resizeBilinear, resizeMap } from "./resize.ts";
import type { InputTransform } from "./types.ts";

/** F.interpolate(m, size=(5, 7), mode="bilinear", align_corners=False) from PyTorch 1.13 (CPU). */
const TORCH_3x4_TO_5x7 = [
  -1.5, -0.6964284181594849, 0.5892857909202576, 1.875000238418579, 2.8035712242126465,
  1.232142448425293, 0.25, -0.2999998927116394, -0.21071425080299377, -0.06785717606544495,
  1.0750001668930054, 2.1464285850524902, 1.7178571224212646, 1.4500001668930054,
  1.4999998807907104, 0.5178569555282593, -1.053571343421936, -0.12499973177909851,
  1.1607143878936768, 2.4464287757873535, 3.25, 0.29999983310699463, 0.389285683631897,
  0.5321431159973145, 0.17499998211860657, -0.03928560018539429, 1.2464287281036377,
  2.049999952316284, -0.5, 0.30357152223587036, 1.5892858505249023, 0.3749997019767761,
  -0.8392854928970337, 0.44642895460128784, 1.25,
];

test("2x2 -> 4x4 follows the half-pixel rule with edge clamping", () => {
  // Along each axis output i samples (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25: the ends clamp
  // to the edge pixels and the middle two mix 3:1 and 1:3. With a linear input the result is
  // linear too: row steps [0, 1, 3, 4] plus column steps [0, 2, 6, 8].
  const out = resizeBilinear(Float32Array.from([0, 4, 8, 12]), 1, 2, 2, 4, 4);
  assert.deepEqual([...out], [0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12]);
});

test("4x4 -> 2x2 averages each 2x2 block (no antialiasing needed at exactly half)", () => {
  const input = Float32Array.from({ length: 16 }, (_, i) => i * i);
  const out = resizeBilinear(input, 1, 4, 4, 2, 2);
  const block = (y: number, x: number): number =>
    [0, 1]
      .flatMap((dy) => [0, 1].map((dx) => input[(y + dy) * 4 + x + dx]!))
      .reduce((a, b) => a + b) / 4;
  assert.deepEqual([...out], [block(0, 0), block(0, 2), block(2, 0), block(2, 2)]);
});

test("matches PyTorch F.interpolate bit for bit", () => {
  const m = new Float32Array(12);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 4; x++) m[y * 4 + x] = ((x * 7 + y * 3) % 5) - 1.5 + 0.25 * x;
  }
  assert.deepEqual([...resizeBilinear(m, 1, 3, 4, 5, 7)], TORCH_3x4_TO_5x7.map(Math.fround));
});

test("each map of a batch is resized on its own, float32 rounding included", () => {
  // PyTorch gives exactly this: at the last pixel the float32 weight products sum to just under 1.
  const out = resizeBilinear(Float32Array.from([1, 1, 1, 1, 5, 5, 5, 5]), 2, 2, 2, 3, 3);
  assert.deepEqual(
    [...out],
    [1, 1, 1, 1, 1, 1, 1, 1, 0.9999999403953552, 5, 5, 5, 5, 5, 5, 5, 5, 4.999999523162842],
  );
});

test("an unchanged size copies, and a single row or column works", () => {
  const m = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  assert.deepEqual(resizeBilinear(m, 1, 2, 3, 2, 3), m);
  assert.deepEqual([...resizeBilinear(Float32Array.from([2, 6]), 1, 1, 2, 1, 4)], [2, 3, 5, 6]);
  assert.deepEqual([...resizeBilinear(Float32Array.from([2, 6]), 1, 2, 1, 1, 1)], [4]);
});

test("bad sizes are rejected", () => {
  assert.throws(
    () => resizeBilinear(new Float32Array(4), 1, 2, 2, 0, 3),
    /outH must be a positive integer/,
  );
  assert.throws(
    () => resizeBilinear(new Float32Array(5), 1, 2, 2, 3, 3),
    /expected 1x2x2 = 4 values, got 5/,
  );
});

test("mapToOriginal undoes the resize and crop and fills what the crop cut away", () => {
  // Original 8x4, shorter side resized to 2 -> 4x2, centre crop 2x2 at x = 1.
  const transform: InputTransform = {
    originalWidth: 8,
    originalHeight: 4,
    resizedWidth: 4,
    resizedHeight: 2,
    cropLeft: 1,
    cropTop: 0,
    inputWidth: 2,
    inputHeight: 2,
  };
  const map = { width: 2, height: 2, data: Float32Array.from([1, 2, 3, 4]) };
  // Original column x has its centre at crop x / 2 - 1.25: columns 2..5 fall inside, at -0.25
  // (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1); rows likewise at 0, 0.25, 0.75, 1.
  const row = (a: number, b: number): number[] => [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
  const top = row(1, 2);
  const bottom = row(3, 4);
  const expectedRows = [0, 0.25, 0.75, 1].map((t) =>
    top.map((v, i) => (1 - t) * v + t * bottom[i]!),
  );
  const out = mapToOriginal(map, transform);
  assert.equal(out.width, 8);
  assert.equal(out.height, 4);
  for (let y = 0; y < 4; y++) {
    const got = [...out.data.subarray(y * 8, y * 8 + 8)];
    const want = [0, 0, ...expectedRows[y]!, 0, 0];
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - want[i]!) < 1e-6, `(${i}, ${y}): ${v} vs ${want[i]}`),
    );
  }
  const marked = mapToOriginal(map, transform, { outside: NaN });
  assert.ok(Number.isNaN(marked.data[0]!) && Number.isNaN(marked.data[7]!));
  assert.ok(!Number.isNaN(marked.data[2]!));
});

test("without a crop, mapToOriginal is the plain bilinear resize", () => {
  const transform: InputTransform = {
    originalWidth: 9,
    originalHeight: 5,
    resizedWidth: 4,
    resizedHeight: 3,
    cropLeft: 0,
    cropTop: 0,
    inputWidth: 4,
    inputHeight: 3,
  };
  const map = {
    width: 4,
    height: 3,
    data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
  };
  const viaTransform = mapToOriginal(map, transform);
  const direct = resizeMap(map, 9, 5);
  viaTransform.data.forEach((v, i) => assert.ok(Math.abs(v - direct.data[i]!) < 1e-6));
  assert.throws(
    () => mapToOriginal({ width: 3, height: 3, data: new Float32Array(9) }, transform),
    /map is 3x3 but the model input was 4x3/,
  );
});
