// Laying several images out in a captioned grid, e.g. one explanation method per cell.
import { CamscopeError } from "../errors.ts";
import { GLYPH_HEIGHT } from "./font.ts";
import { resizeImage } from "./resample.ts";
import { drawText, fitText, measureText } from "./text.ts";
import type { RgbImage } from "./types.ts";
import { assertRgbImage } from "./types.ts";

type Rgb = readonly [number, number, number];

export interface GridCell {
  image: RgbImage;
  /** Text under the cell; "\n" starts a new line; lines too wide for the cell end in "…". */
  caption?: string;
}

export interface GridOptions {
  /** Cells per row (capped at the number of cells). */
  columns: number;
  /**
   * Box each image is scaled to fit (aspect kept, Pillow-style bilinear), e.g. 256 or
   * { width: 320, height: 240 }. Without it images keep their size. Either way every cell's image
   * area is the size of the largest image, and smaller images are centred in it.
   */
  cellSize?: number | { width: number; height: number };
  /** Space around and between cells, in pixels; default 8. */
  padding?: number;
  /** Background colour as RGB bytes; default white. */
  background?: Rgb;
  /** Caption colour; default black or white, whichever stands out on the background. */
  textColor?: Rgb;
  /** Integer magnification of the 5x8 caption font; default 1 per 256 px of cell width. */
  fontScale?: number;
}

/** Draws the cells left to right, top to bottom, with captions beneath, into a new image. */
export function makeGrid(cells: readonly GridCell[], options: GridOptions): RgbImage {
  if (cells.length === 0)
    throw new CamscopeError("INVALID_ARGUMENT", "makeGrid needs at least one cell");
  cells.forEach((cell, i) => assertRgbImage(cell.image, `grid cell ${i} image`));
  if (!Number.isInteger(options.columns) || options.columns < 1) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `columns must be a positive integer, got ${options.columns}`,
    );
  }
  const columns = Math.min(options.columns, cells.length);
  const rows = Math.ceil(cells.length / columns);
  const padding = options.padding ?? 8;
  if (!Number.isInteger(padding) || padding < 0) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `padding must be a non-negative integer, got ${padding}`,
    );
  }
  const background = options.background ?? [255, 255, 255];
  const textColor = options.textColor ?? contrastingInk(background);

  const bounds = cellBounds(options.cellSize);
  const images = cells.map((cell) =>
    bounds ? fitInto(cell.image, bounds.width, bounds.height) : cell.image,
  );
  // The image area is the largest (fitted) image, so a bound only ever shrinks the grid.
  const cellW = Math.max(...images.map((image) => image.width));
  const cellH = Math.max(...images.map((image) => image.height));
  const scale = options.fontScale ?? Math.max(1, Math.floor(cellW / 256));
  if (!Number.isInteger(scale) || scale < 1) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `fontScale must be a positive integer, got ${scale}`,
    );
  }
  const captions = cells.map((cell) => (cell.caption ? cell.caption.split("\n") : []));
  const captionLines = Math.max(...captions.map((lines) => lines.length));
  const lineHeight = (GLYPH_HEIGHT + 2) * scale;
  const captionGap = 3 * scale;
  const captionH = captionLines > 0 ? captionGap + captionLines * lineHeight - 2 * scale : 0;

  const width = columns * cellW + (columns + 1) * padding;
  const height = rows * (cellH + captionH) + (rows + 1) * padding;
  const grid: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  for (let p = 0; p < grid.data.length; p += 3) grid.data.set(background, p);

  images.forEach((image, i) => {
    const left = padding + (i % columns) * (cellW + padding);
    const top = padding + Math.floor(i / columns) * (cellH + captionH + padding);
    blit(
      grid,
      image,
      left + Math.floor((cellW - image.width) / 2),
      top + Math.floor((cellH - image.height) / 2),
    );
    captions[i]!.forEach((line, k) => {
      const text = fitText(line, cellW, scale);
      const x = left + Math.floor((cellW - measureText(text, scale).width) / 2);
      const y = top + cellH + captionGap + k * lineHeight;
      drawText(grid, text, x, y, { scale, color: textColor });
    });
  });
  return grid;
}

function cellBounds(cellSize: GridOptions["cellSize"]): { width: number; height: number } | null {
  if (cellSize === undefined) return null;
  const size = typeof cellSize === "number" ? { width: cellSize, height: cellSize } : cellSize;
  if (![size.width, size.height].every((v) => Number.isInteger(v) && v > 0)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `cellSize must be positive integers, got ${size.width}x${size.height}`,
    );
  }
  return size;
}

/** Scales an image to the largest size that fits in width x height with its aspect kept. */
function fitInto(image: RgbImage, width: number, height: number): RgbImage {
  const f = Math.min(width / image.width, height / image.height);
  const w = Math.min(width, Math.max(1, Math.round(image.width * f)));
  const h = Math.min(height, Math.max(1, Math.round(image.height * f)));
  return w === image.width && h === image.height ? image : resizeImage(image, w, h);
}

/** Copies `src` into `dst` with its top-left at (x, y); src must lie inside dst. */
function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  const rowBytes = src.width * 3;
  for (let row = 0; row < src.height; row++) {
    const from = row * rowBytes;
    dst.data.set(src.data.subarray(from, from + rowBytes), ((y + row) * dst.width + x) * 3);
  }
}

/** Black on light backgrounds, white on dark ones (Rec. 709 luma). */
function contrastingInk([r, g, b]: Rgb): Rgb {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b >= 128 ? [0, 0, 0] : [255, 255, 255];
}
