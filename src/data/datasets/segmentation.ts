// COCO segmentations as masks: polygons (lists of x, y pairs in pixels) and uncompressed RLE
// (../synthetic/rle.ts). Polygons are filled by the even-odd rule at pixel centres: pixel (x, y)
// is inside when (x + 0.5, y + 0.5) is. pycocotools rasterises slightly more generously along
// edges, so masks from polygons can differ from its masks by about one pixel along the outline.
import { decodeRle, type UncompressedRle } from "../synthetic/rle.ts";

export type Polygon = readonly number[];
export type Segmentation = readonly Polygon[] | UncompressedRle;

/** Why a COCO segmentation cannot be used for an image of this size, or undefined if it can. */
export function segmentationProblem(
  segmentation: unknown,
  width: number,
  height: number,
): string | undefined {
  if (Array.isArray(segmentation)) {
    const ok = segmentation.every(
      (p) =>
        Array.isArray(p) &&
        p.length >= 6 &&
        p.length % 2 === 0 &&
        p.every((v) => typeof v === "number" && Number.isFinite(v)),
    );
    return ok ? undefined : "polygon segmentation is not lists of at least 3 x, y pairs";
  }
  if (typeof segmentation !== "object" || segmentation === null) {
    return "segmentation is neither polygons nor RLE";
  }
  const { counts, size } = segmentation as { counts?: unknown; size?: unknown };
  if (typeof counts === "string") return "compressed RLE segmentation is not supported";
  if (!Array.isArray(counts) || !counts.every((c) => Number.isSafeInteger(c) && c >= 0)) {
    return "RLE counts are not non-negative integers";
  }
  if (!Array.isArray(size) || size[0] !== height || size[1] !== width) {
    return `RLE size ${JSON.stringify(size)} is not the image's [${height}, ${width}]`;
  }
  if (counts.reduce((a: number, b: number) => a + b, 0) !== width * height) {
    return `RLE counts do not cover the ${width}x${height} image`;
  }
  return undefined;
}

/** Sets to 1 the pixels of `mask` whose centres lie inside the polygon (even-odd rule). */
export function fillPolygon(mask: Uint8Array, width: number, height: number, polygon: Polygon) {
  const n = polygon.length / 2;
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    // x coordinates where the row's centre line crosses an edge; half-open in y so a vertex on
    // the line counts once.
    const crossings: number[] = [];
    for (let i = 0; i < n; i++) {
      const ax = polygon[2 * i]!;
      const ay = polygon[2 * i + 1]!;
      const bx = polygon[(2 * i + 2) % (2 * n)]!;
      const by = polygon[(2 * i + 3) % (2 * n)]!;
      if (ay <= cy !== by <= cy) crossings.push(ax + ((cy - ay) * (bx - ax)) / (by - ay));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Centres x + 0.5 in [left, right).
      const from = Math.max(0, Math.ceil(crossings[k]! - 0.5));
      const to = Math.min(width, Math.ceil(crossings[k + 1]! - 0.5));
      for (let x = from; x < to; x++) mask[y * width + x] = 1;
    }
  }
}

/** The union of segmentations (checked with segmentationProblem) as a row-major 0/1 mask. */
export function rasterise(
  segmentations: readonly Segmentation[],
  width: number,
  height: number,
): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const s of segmentations) {
    if (Array.isArray(s)) {
      for (const polygon of s as readonly Polygon[]) fillPolygon(mask, width, height, polygon);
    } else {
      decodeRle(s as UncompressedRle).forEach((bit, i) => (mask[i]! |= bit));
    }
  }
  return mask;
}
