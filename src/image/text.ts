// Drawing single lines of text into an RgbImage with the built-in bitmap font (font.ts).
import { CamscopeError } from "../errors.ts";
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from "./font.ts";
import type { RgbImage } from "./types.ts";

/** Horizontal distance between glyph origins, in font pixels: a glyph plus 1 pixel of spacing. */
const ADVANCE = GLYPH_WIDTH + 1;
const ELLIPSIS = "…";

/** Size in image pixels of `text` drawn at integer `scale`. */
export function measureText(
  text: string,
  scale = 1,
): {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
} {
  const n = [...text].length;
  return { width: n === 0 ? 0 : (n * ADVANCE - 1) * scale, height: GLYPH_HEIGHT * scale };
}

/** `text`, shortened with a trailing "…" when needed so it fits in `maxWidth` pixels. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  const chars = [...text];
  const maxChars = Math.floor((maxWidth / scale + 1) / ADVANCE);
  if (chars.length <= maxChars) return text;
  if (maxChars <= 0) return "";
  return chars.slice(0, maxChars - 1).join("") + ELLIPSIS;
}

/** Options of {@link drawText}. */
export interface DrawTextOptions {
  /** Integer magnification of the 5x8 font; default 1. */
  scale?: number;
  /** Ink colour as RGB bytes; default black. */
  color?: readonly [number, number, number];
}

/**
 * Draws one line of text in place with its top-left corner at (x, y); pixels falling outside the
 * image are skipped. Characters outside printable ASCII are drawn as "?".
 */
export function drawText(
  image: RgbImage,
  text: string,
  x: number,
  y: number,
  options: DrawTextOptions = {},
): void {
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `text scale must be a positive integer, got ${scale}`,
    );
  }
  const [r, g, b] = options.color ?? [0, 0, 0];
  let originX = Math.round(x);
  const originY = Math.round(y);
  for (const char of text) {
    const rows = glyph(char);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const bits = rows[row]!;
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (!(bits & (1 << (GLYPH_WIDTH - 1 - col)))) continue;
        fillRect(image, originX + col * scale, originY + row * scale, scale, scale, r, g, b);
      }
    }
    originX += ADVANCE * scale;
  }
}

function fillRect(
  image: RgbImage,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number,
  g: number,
  b: number,
): void {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(image.width, x + w);
  const y1 = Math.min(image.height, y + h);
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) {
      const p = (yy * image.width + xx) * 3;
      image.data[p] = r;
      image.data[p + 1] = g;
      image.data[p + 2] = b;
    }
  }
}
