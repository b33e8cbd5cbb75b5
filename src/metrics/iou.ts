// Localization by thresholding (Zhou et al. 2016, CAM): keep the pixels of a map at or above
// `threshold` times its maximum; the box of the largest 8-connected group of them is the
// predicted box (box IoU), or all of them are the predicted mask (mask IoU). A map whose maximum
// is not positive predicts nothing: IoU 0. NaN where the image has no annotation inside the input.
// The CAM papers count a localization correct at IoU >= 0.5.
import { CamscopeError } from "../errors.ts";
import { mapCount, regionMask } from "./maps.ts";
import type { Box } from "../image/regions.ts";
import type { InputRegions } from "../image/regions.ts";

function checkThreshold(threshold: number): void {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `threshold must be a fraction of the maximum in [0, 1], got ${threshold}`,
    );
  }
}

/** 1 where map >= threshold * max(map), for a map with a positive maximum; else all 0. */
export function thresholdMap(map: Float32Array, threshold: number): Uint8Array {
  let max = -Infinity;
  for (const v of map) if (v > max) max = v;
  const kept = new Uint8Array(map.length);
  if (!(max > 0)) return kept;
  const cut = threshold * max;
  for (let p = 0; p < map.length; p++) kept[p] = map[p]! >= cut ? 1 : 0;
  return kept;
}

/**
 * The bounding box of the largest 8-connected component of a 0/1 mask (ties: the component
 * reached first in row-major order), or undefined when the mask is empty.
 */
export function largestComponentBox(
  mask: Uint8Array,
  height: number,
  width: number,
): Box | undefined {
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  let best: { size: number; box: Box } | undefined;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let size = 0;
    const box = { x0: width, y0: height, x1: 0, y1: 0 };
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      size++;
      box.x0 = Math.min(box.x0, x);
      box.y0 = Math.min(box.y0, y);
      box.x1 = Math.max(box.x1, x + 1);
      box.y1 = Math.max(box.y1, y + 1);
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    if (!best || size > best.size) best = { size, box };
  }
  return best?.box;
}

/** Intersection over union of two boxes (pixel areas). */
export function intersectionOverUnion(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return union > 0 ? inter / union : 0;
}

/** The bounding box of a non-empty 0/1 mask. */
function maskBox(mask: Uint8Array, width: number): Box {
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  mask.forEach((v, p) => {
    if (!v) return;
    const x = p % width;
    const y = (p - x) / width;
    box.x0 = Math.min(box.x0, x);
    box.y0 = Math.min(box.y0, y);
    box.x1 = Math.max(box.x1, x + 1);
    box.y1 = Math.max(box.y1, y + 1);
  });
  return box;
}

/**
 * Per map: the IoU of the predicted box with the best-matching annotated box (CAM's rule: any
 * ground-truth box may match). Without boxes, the mask's bounding box is the ground truth.
 */
export function boxIou(
  maps: Float32Array,
  height: number,
  width: number,
  regions: readonly InputRegions[],
  threshold = 0.15,
): Float32Array {
  checkThreshold(threshold);
  const n = mapCount(maps, height, width, regions);
  const area = height * width;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const region = regions[i]!;
    let truth = region.boxes.filter((b) => b.x1 > b.x0 && b.y1 > b.y0);
    if (truth.length === 0) {
      const mask = regionMask(
        { boxes: [], ...(region.mask && { mask: region.mask }) },
        height,
        width,
      );
      truth = mask ? [maskBox(mask, width)] : [];
    }
    if (truth.length === 0) {
      out[i] = NaN;
      continue;
    }
    const kept = thresholdMap(maps.subarray(i * area, (i + 1) * area), threshold);
    const predicted = largestComponentBox(kept, height, width);
    out[i] = predicted ? Math.max(...truth.map((b) => intersectionOverUnion(predicted, b))) : 0;
  }
  return out;
}

/**
 * Per map: the IoU of the thresholded map's pixels with the annotated pixels (the mask, else the
 * union of the boxes).
 */
export function maskIou(
  maps: Float32Array,
  height: number,
  width: number,
  regions: readonly InputRegions[],
  threshold = 0.15,
): Float32Array {
  checkThreshold(threshold);
  const n = mapCount(maps, height, width, regions);
  const area = height * width;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const truth = regionMask(regions[i]!, height, width);
    if (!truth) {
      out[i] = NaN;
      continue;
    }
    const kept = thresholdMap(maps.subarray(i * area, (i + 1) * area), threshold);
    let inter = 0;
    let union = 0;
    for (let p = 0; p < area; p++) {
      const a = kept[p] !== 0;
      const b = truth[p] !== 0;
      if (a && b) inter++;
      if (a || b) union++;
    }
    out[i] = inter / union;
  }
  return out;
}
