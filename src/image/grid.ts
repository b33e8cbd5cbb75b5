// Laying several images out in a captioned grid, e.g. one explanation method per cell, each
// heatmap with its colour bar.
import { colormapTable, type ColormapName } from "./colormap.ts";
import { CamscopeError } from "../errors.ts";
import { GLYPH_HEIGHT } from "./font.ts";
import { resizeImage } from "./resample.ts";
import { drawText, fitText, measureText } from "./text.ts";
import type { Rgb, RgbImage } from "./types.ts";
import { assertRgbImage } from "./types.ts";

/** One cell of a {@link makeGrid} grid. */
export interface GridCell {
  /** The picture. */
  image: RgbImage;
  /** Text under the cell; "\n" starts a new line; lines too wide for the cell end in "…". */
  caption?: string;
  /** A colour bar between the image and the caption, as wide as the image. */
  colorBar?: ColorBar;
}

/** The colormap from its low end (left) to its high end (right), labelled underneath. */
export interface ColorBar {
  /** The colormap the cell's heatmap is drawn with. */
  colormap: ColormapName;
  /** Labels under the left end, the middle and the right end; "" for none. */
  labels: readonly [string, string, string];
}

/** Options of {@link makeGrid}. */
export interface GridOptions {
  /** Cells per row (capped at the number of cells). */
  columns: number;
  /**
   * Box each image is scaled to fit (aspect kept, Pillow-style bilinear), e.g. 256 or
   * { width: 320, height: 240 }. Without it images keep their size. Either way every cell's image
   * area is the size of the largest image, and smaller images are centred in it.
   */
  cellSize?:
    | number
    | {
        /** Box width in pixels. */
        width: number;
        /** Box height in pixels. */
        height: number;
      };
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
  // Bars take the same strip in every cell, so captions stay aligned across a row.
  const barH = 8 * scale;
  const barStripH = cells.some((cell) => cell.colorBar)
    ? captionGap + barH + 2 * scale + GLYPH_HEIGHT * scale
    : 0;
  const rowH = cellH + barStripH + captionH;

  const width = columns * cellW + (columns + 1) * padding;
  const height = rows * rowH + (rows + 1) * padding;
  const grid: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  for (let p = 0; p < grid.data.length; p += 3) grid.data.set(background, p);

  images.forEach((image, i) => {
    const left = padding + (i % columns) * (cellW + padding);
    const top = padding + Math.floor(i / columns) * (rowH + padding);
    const imageLeft = left + Math.floor((cellW - image.width) / 2);
    blit(grid, image, imageLeft, top + Math.floor((cellH - image.height) / 2));
    const bar = cells[i]!.colorBar;
    if (bar) {
      drawColorBar(grid, bar, imageLeft, top + cellH + captionGap, image.width, barH, {
        scale,
        color: textColor,
      });
    }
    captions[i]!.forEach((line, k) => {
      const text = fitText(line, cellW, scale);
      const x = left + Math.floor((cellW - measureText(text, scale).width) / 2);
      const y = top + cellH + barStripH + captionGap + k * lineHeight;
      drawText(grid, text, x, y, { scale, color: textColor });
    });
  });
  return grid;
}

/**
 * The bar at (x, y), `width` x `height` with a 1-pixel frame in the ink colour, its labels in the
 * line under it: the left one from the left end, the right one up to the right end, the middle
 * one centred, each cut to a third of the width.
 */
function drawColorBar(
  grid: RgbImage,
  bar: ColorBar,
  x: number,
  y: number,
  width: number,
  height: number,
  ink: { scale: number; color: Rgb },
): void {
  const table = colormapTable(bar.colormap);
  for (let col = 0; col < width; col++) {
    const framed = col === 0 || col === width - 1;
    // Column positions run from 0 to 1 inclusive, picked as overlays pick (floor(t * 256)).
    const t = width > 1 ? col / (width - 1) : 0.5;
    const entry = Math.min(255, Math.floor(t * 256)) * 3;
    const colour: Rgb = framed ? ink.color : [table[entry]!, table[entry + 1]!, table[entry + 2]!];
    for (let row = 0; row < height; row++) {
      const rgb = row === 0 || row === height - 1 ? ink.color : colour;
      grid.data.set(rgb, ((y + row) * grid.width + x + col) * 3);
    }
  }
  const labelY = y + height + 2 * ink.scale;
  const [low, middle, high] = bar.labels.map((label) => fitText(label, width / 3, ink.scale));
  drawText(grid, low!, x, labelY, ink);
  const middleWidth = measureText(middle!, ink.scale).width;
  drawText(grid, middle!, x + Math.floor((width - middleWidth) / 2), labelY, ink);
  drawText(grid, high!, x + width - measureText(high!, ink.scale).width, labelY, ink);
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
