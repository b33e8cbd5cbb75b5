import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../../util/random.ts";
import { insidePolygon, radialPolygon, segmentDistanceSquared } from "./geometry.ts";
import type { Point } from "./geometry.ts";
import { dilate, fillPolygon, strokeSegment } from "./raster.ts";
import type { RgbImage } from "./raster.ts";

const SIZE = 48;
const WHITE = [255, 255, 255] as const;

function blank(): RgbImage {
  return { width: SIZE, height: SIZE, rgb: new Uint8Array(SIZE * SIZE * 3) };
}

function painted(image: RgbImage): Uint8Array {
  return Uint8Array.from({ length: SIZE * SIZE }, (_, pixel) =>
    image.rgb[pixel * 3]! > 0 ? 1 : 0,
  );
}

/** Pixels whose centres pass `inside`, tested one by one. */
function bruteForce(inside: (x: number, y: number) => boolean): Uint8Array {
  return Uint8Array.from({ length: SIZE * SIZE }, (_, pixel) =>
    inside((pixel % SIZE) + 0.5, Math.floor(pixel / SIZE) + 0.5) ? 1 : 0,
  );
}

test("fillPolygon() paints exactly the pixel centres inside the polygon", () => {
  const rng = createRng(1);
  const noKeepOut = new Uint8Array(SIZE * SIZE);
  for (let trial = 0; trial < 50; trial++) {
    const radii = Array.from({ length: rng.int(3, 12) }, () => rng.range(2, 30));
    const [cx, cy] = [rng.range(-5, SIZE + 5), rng.range(-5, SIZE + 5)];
    const polygon = radialPolygon(radii, rng.range(0, 7)).map(
      ([x, y]) => [x + cx, y + cy] as const,
    );
    const image = blank();
    fillPolygon(image, noKeepOut, polygon, WHITE);
    assert.deepEqual(
      painted(image),
      bruteForce((x, y) => insidePolygon(x, y, polygon)),
    );
  }
});

test("strokeSegment() paints exactly the pixels within the half-width of the segment", () => {
  const rng = createRng(2);
  const noKeepOut = new Uint8Array(SIZE * SIZE);
  const segments: [Point, Point][] = [
    [
      [3.2, 10.5],
      [40.7, 10.5],
    ],
    [
      [20.5, 2],
      [20.5, 45],
    ],
    [
      [7, 7],
      [7, 7],
    ],
  ];
  for (let trial = 0; trial < 50; trial++) {
    segments.push([
      [rng.range(-20, SIZE + 20), rng.range(-20, SIZE + 20)],
      [rng.range(-20, SIZE + 20), rng.range(-20, SIZE + 20)],
    ]);
  }
  for (const [a, b] of segments) {
    const halfWidth = rng.range(0.4, 4);
    const image = blank();
    strokeSegment(image, noKeepOut, a, b, halfWidth, WHITE);
    const expected = bruteForce((x, y) => segmentDistanceSquared(x, y, a, b) <= halfWidth ** 2);
    assert.deepEqual(painted(image), expected, `${a} ${b} ${halfWidth}`);
  }
});

test("fills leave keep-out pixels alone and blend with alpha", () => {
  const keepOut = new Uint8Array(SIZE * SIZE);
  keepOut[SIZE * 10 + 10] = 1;
  const image = blank();
  const square = [
    [5, 5],
    [20, 5],
    [20, 20],
    [5, 20],
  ] as const;
  fillPolygon(image, keepOut, square, [200, 100, 50], 0.5);
  assert.deepEqual([...image.rgb.subarray((SIZE * 10 + 10) * 3, (SIZE * 10 + 11) * 3)], [0, 0, 0]);
  assert.deepEqual(
    [...image.rgb.subarray((SIZE * 10 + 11) * 3, (SIZE * 10 + 12) * 3)],
    [100, 50, 25],
  );
});

test("dilate() grows a mask by a square of the given radius", () => {
  const rng = createRng(3);
  const mask = Uint8Array.from({ length: SIZE * SIZE }, () => (rng.chance(0.01) ? 1 : 0));
  const radius = 2;
  const expected = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          const [sx, sy] = [x + dx, y + dy];
          if (sx >= 0 && sx < SIZE && sy >= 0 && sy < SIZE && mask[sy * SIZE + sx] === 1) {
            expected[y * SIZE + x] = 1;
          }
        }
      }
    }
  }
  assert.deepEqual(dilate(mask, SIZE, SIZE, radius), expected);
});
