import assert from "node:assert/strict";
import { test } from "node:test";
import { makeGrid } from "./grid.ts";
import type { RgbImage } from "./types.ts";

const solid = (width: number, height: number, rgb: [number, number, number]): RgbImage => {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { width, height, data };
};
const pixel = (image: RgbImage, x: number, y: number): number[] => [
  ...image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3),
];

test("cells are laid out left to right, top to bottom with padding", () => {
  const red = solid(10, 10, [255, 0, 0]);
  const green = solid(10, 10, [0, 255, 0]);
  const blue = solid(10, 10, [0, 0, 255]);
  const grid = makeGrid([{ image: red }, { image: green }, { image: blue }], {
    columns: 2,
    padding: 4,
    background: [9, 9, 9],
  });
  assert.equal(grid.width, 2 * 10 + 3 * 4);
  assert.equal(grid.height, 2 * 10 + 3 * 4);
  assert.deepEqual(pixel(grid, 4, 4), [255, 0, 0]);
  assert.deepEqual(pixel(grid, 18, 4), [0, 255, 0]);
  assert.deepEqual(pixel(grid, 4, 18), [0, 0, 255]);
  assert.deepEqual(pixel(grid, 3, 3), [9, 9, 9]);
  assert.deepEqual(pixel(grid, 20, 20), [9, 9, 9]); // the empty fourth cell
});

test("captions get their own strip under each row, in contrasting ink", () => {
  const grid = makeGrid([{ image: solid(40, 20, [200, 200, 200]), caption: "cat" }], {
    columns: 1,
    padding: 2,
    background: [0, 0, 0],
  });
  // 3 px gap + 8 px of text below the 20 px image.
  assert.equal(grid.height, 2 + 20 + 3 + 8 + 2);
  const strip: number[][] = [];
  for (let y = 2 + 20 + 3; y < 2 + 20 + 3 + 8; y++) {
    for (let x = 0; x < grid.width; x++) strip.push(pixel(grid, x, y));
  }
  assert.ok(
    strip.some((p) => p.every((v) => v === 255)),
    "white ink on black",
  );
  // "cat" is 17 px wide, centred in the 40 px cell starting at x = 2: x from 13 to 29.
  for (let y = 25; y < 33; y++) {
    assert.deepEqual(pixel(grid, 12, y), [0, 0, 0]);
    assert.deepEqual(pixel(grid, 30, y), [0, 0, 0]);
  }
});

test("multi-line captions, and a row's strip fits its tallest caption", () => {
  const cells = [
    { image: solid(30, 10, [255, 255, 255]), caption: "one\ntwo" },
    { image: solid(30, 10, [255, 255, 255]) },
  ];
  const grid = makeGrid(cells, { columns: 2, padding: 0 });
  assert.equal(grid.height, 10 + 3 + 10 + 8);
});

test("cellSize scales images to fit, keeping aspect; smaller images are centred", () => {
  const wide = solid(40, 20, [255, 0, 0]);
  const tall = solid(20, 40, [0, 255, 0]);
  const alone = makeGrid([{ image: wide }], { columns: 1, padding: 0, cellSize: 10 });
  assert.deepEqual([alone.width, alone.height], [10, 5]); // no letterbox when nothing needs it
  const grid = makeGrid([{ image: wide }, { image: tall }], {
    columns: 2,
    padding: 0,
    cellSize: { width: 10, height: 10 },
    background: [0, 0, 255],
  });
  assert.deepEqual([grid.width, grid.height], [20, 10]);
  assert.deepEqual(pixel(grid, 5, 1), [0, 0, 255]); // letterbox above the 10x5 image
  assert.deepEqual(pixel(grid, 5, 5), [255, 0, 0]);
  assert.deepEqual(pixel(grid, 5, 8), [0, 0, 255]);
  assert.deepEqual(pixel(grid, 11, 5), [0, 0, 255]); // pillarbox left of the 5x10 image
  assert.deepEqual(pixel(grid, 15, 5), [0, 255, 0]);
});

test("columns beyond the number of cells are dropped; bad options throw", () => {
  const one = { image: solid(5, 5, [1, 2, 3]) };
  assert.equal(makeGrid([one, one], { columns: 5, padding: 1 }).width, 2 * 5 + 3);
  assert.throws(() => makeGrid([], { columns: 1 }), /at least one cell/);
  assert.throws(() => makeGrid([one], { columns: 0 }), /columns must be a positive integer/);
  assert.throws(() => makeGrid([one], { columns: 1, cellSize: 0 }), /cellSize must be positive/);
});

test("a colour bar under the image shows the colormap's ends, framed, with labels beneath", () => {
  const cells = [
    {
      image: solid(60, 20, [128, 128, 128]),
      caption: "ig",
      colorBar: { colormap: "bwr" as const, labels: ["-1", "0", "+1"] as const },
    },
    { image: solid(60, 20, [128, 128, 128]), caption: "photo" },
  ];
  const grid = makeGrid(cells, { columns: 2, padding: 2, background: [255, 255, 255] });
  // Image 20, gap 3, bar 8, gap 2, labels 8, then the caption strip of 3 + 8.
  assert.equal(grid.height, 2 + 20 + 3 + 8 + 2 + 8 + 3 + 8 + 2);
  const barTop = 2 + 20 + 3;
  assert.deepEqual(pixel(grid, 2, barTop + 4), [0, 0, 0], "frame in black ink");
  // Column c of the 60 wide bar shows position c / 59: the first inner one is entry 4 of 256.
  assert.deepEqual(pixel(grid, 3, barTop + 4), [8, 8, 255], "bwr's blue end");
  assert.deepEqual(pixel(grid, 2 + 58, barTop + 4), [255, 8, 8], "bwr's red end");
  assert.ok(
    pixel(grid, 2 + 30, barTop + 4).every((v) => v >= 245),
    "near white in the middle",
  );
  const ink = (x0: number, x1: number): boolean => {
    for (let y = barTop + 10; y < barTop + 18; y++) {
      for (let x = x0; x < x1; x++) if (pixel(grid, x, y)[0] === 0) return true;
    }
    return false;
  };
  assert.ok(ink(2, 14) && ink(26, 36) && ink(48, 62), "three labels");
  // The second cell has no bar: its bar strip stays background, its caption aligned with the first.
  assert.deepEqual(pixel(grid, 64 + 30, barTop + 4), [255, 255, 255]);
  assert.equal(ink(64, 126), false);
});
