import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  boxIou,
  intersectionOverUnion,
  largestComponentBox,
  maskIou,
  thresholdMap,
} from "./iou.ts";

const H = 12;
const W = 16;

/** A map holding `value` on the box [x0, x1) x [y0, y1). */
function block(map: Float32Array, x0: number, y0: number, x1: number, y1: number, value: number) {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) map[y * W + x] = value;
  return map;
}

describe("thresholded localization", () => {
  it("keeps pixels at or above the fraction of the maximum", () => {
    assert.deepEqual(
      thresholdMap(Float32Array.of(1, 0.15, 0.1499, 0), 0.15),
      Uint8Array.of(1, 1, 0, 0),
    );
    assert.deepEqual(thresholdMap(Float32Array.of(0, -1), 0.15), Uint8Array.of(0, 0));
  });

  it("finds the largest 8-connected component, diagonal steps included", () => {
    // A diagonal chain of 3 pixels beats a 2-pixel pair that comes first.
    const mask = new Uint8Array(25);
    for (const p of [0, 1, 12, 18, 24]) mask[p] = 1;
    assert.deepEqual(largestComponentBox(mask, 5, 5), { x0: 2, y0: 2, x1: 5, y1: 5 });
    assert.equal(largestComponentBox(new Uint8Array(25), 5, 5), undefined);
  });

  it("computes box IoU by pixel areas", () => {
    const a = { x0: 0, y0: 0, x1: 4, y1: 4 };
    assert.equal(intersectionOverUnion(a, { x0: 2, y0: 0, x1: 6, y1: 4 }), 8 / 24);
    assert.equal(intersectionOverUnion(a, { x0: 4, y0: 0, x1: 6, y1: 4 }), 0);
  });

  it("a map equal to the object gives box and mask IoU 1; a faint blob is cut off", () => {
    const box = { x0: 3, y0: 2, x1: 9, y1: 7 };
    const map = block(new Float32Array(H * W), 3, 2, 9, 7, 1);
    block(map, 12, 9, 14, 11, 0.1); // below 0.15 of the maximum
    const mask = thresholdMap(block(new Float32Array(H * W), 3, 2, 9, 7, 1), 0.5);
    assert.deepEqual(boxIou(map, H, W, [{ boxes: [box] }]), Float32Array.of(1));
    assert.deepEqual(maskIou(map, H, W, [{ boxes: [], mask }]), Float32Array.of(1));
    // At threshold 0.05 the blob joins the mask prediction but not the largest component.
    assert.deepEqual(boxIou(map, H, W, [{ boxes: [box] }], 0.05), Float32Array.of(1));
    assert.deepEqual(maskIou(map, H, W, [{ boxes: [box] }], 0.05), Float32Array.of(30 / 34));
  });

  it("matches the best ground-truth box, falls back to the mask's box, and marks no annotation", () => {
    const map = block(new Float32Array(H * W), 0, 0, 4, 4, 1); // predicted box [0,4) x [0,4)
    const far = { x0: 10, y0: 8, x1: 12, y1: 10 };
    const half = { x0: 2, y0: 0, x1: 6, y1: 4 };
    const mask = new Uint8Array(H * W);
    mask[0] = mask[3 * W + 1] = 1; // bounding box [0,2) x [0,4): IoU 8 / 16
    const maps = new Float32Array(4 * H * W);
    for (let i = 0; i < 4; i++) maps.set(map, i * H * W);
    const regions = [{ boxes: [far, half] }, { boxes: [], mask }, { boxes: [] }, { boxes: [far] }];
    const iou = boxIou(maps, H, W, regions);
    assert.deepEqual(Array.from(iou.subarray(0, 2)), [Math.fround(1 / 3), 0.5]);
    assert.ok(Number.isNaN(iou[2]));
    assert.equal(iou[3], 0);
    // Mask IoU: 16 predicted pixels, 2 annotated inside them.
    assert.equal(maskIou(maps, H, W, regions)[1], Math.fround(2 / 16));
  });

  it("a map with no positive value predicts nothing: IoU 0", () => {
    const map = new Float32Array(H * W).fill(-1);
    const regions = [{ boxes: [{ x0: 0, y0: 0, x1: 2, y1: 2 }] }];
    assert.deepEqual(boxIou(map, H, W, regions), Float32Array.of(0));
    assert.deepEqual(maskIou(map, H, W, regions), Float32Array.of(0));
    assert.throws(() => boxIou(map, H, W, regions, 2), /threshold/);
  });
});
