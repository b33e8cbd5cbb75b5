import assert from "node:assert/strict";
import { test } from "node:test";
import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from "./font.ts";
import { drawText, fitText, measureText } from "./text.ts";
import type { RgbImage } from "./types.ts";

const canvas = (width: number, height: number): RgbImage => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(255),
});

/** The canvas as rows of "#" (ink: not white) and "." */
function ink(image: RgbImage): string[] {
  const rows: string[] = [];
  for (let y = 0; y < image.height; y++) {
    let row = "";
    for (let x = 0; x < image.width; x++)
      row += image.data[(y * image.width + x) * 3] === 255 ? "." : "#";
    rows.push(row);
  }
  return rows;
}

test("every printable ASCII character has a glyph of its own", () => {
  const fallback = glyph("?");
  const seen = new Set<string>();
  for (let code = 32; code < 127; code++) {
    const char = String.fromCharCode(code);
    const g = glyph(char);
    assert.equal(g.length, GLYPH_HEIGHT);
    if (char !== "?") assert.notEqual(g, fallback, `missing glyph for ${JSON.stringify(char)}`);
    if (char !== " ")
      assert.ok(
        g.some((row) => row !== 0),
        `blank glyph for ${JSON.stringify(char)}`,
      );
    seen.add([...g].join(","));
  }
  assert.equal(seen.size, 95, "two characters share a bitmap");
  assert.equal(glyph("é"), fallback);
});

test("drawText draws the glyph's pixels at the given scale", () => {
  const image = canvas(GLYPH_WIDTH, GLYPH_HEIGHT);
  drawText(image, "T", 0, 0);
  assert.deepEqual(ink(image), [
    "#####",
    "..#..",
    "..#..",
    "..#..",
    "..#..",
    "..#..",
    "..#..",
    ".....",
  ]);
  const big = canvas(4, 4);
  drawText(big, "T", 0, 0, { scale: 2, color: [10, 20, 30] });
  assert.deepEqual(ink(big), ["####", "####", "....", "...."]);
  assert.deepEqual([...big.data.subarray(0, 3)], [10, 20, 30]);
});

test("text running off the image is clipped, not an error", () => {
  const image = canvas(3, 3);
  drawText(image, "Hello", -2, -4, { scale: 1 });
  drawText(image, "Hello", 2, 2, { scale: 3 });
  assert.throws(() => drawText(image, "x", 0, 0, { scale: 1.5 }), /positive integer/);
});

test("measureText and fitText work in whole glyph advances", () => {
  assert.deepEqual(measureText("ab", 2), { width: 22, height: 16 }); // (2 * 6 - 1) * 2
  assert.deepEqual(measureText(""), { width: 0, height: 8 });
  assert.equal(fitText("short", 29), "short"); // 5 glyphs need 29 px
  assert.equal(fitText("longer caption", 29), "long…");
  assert.equal(fitText("longer caption", 58, 2), "long…");
  assert.equal(fitText("abc", 3), "");
});
