import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { energyPointing, pointingGame } from "./pointing.ts";

const H = 40;
const W = 50;

/** A map that is 0 except `value` at the listed pixels. */
function mapWith(pixels: [number, number, number][]): Float32Array {
  const map = new Float32Array(H * W);
  for (const [x, y, v] of pixels) map[y * W + x] = v;
  return map;
}

describe("pointing game", () => {
  const box = { x0: 10, y0: 5, x1: 20, y1: 15 }; // pixels x 10..19, y 5..14

  it("a map equal to the object mask hits, with all its energy inside", () => {
    const mask = new Uint8Array(H * W);
    for (let y = 20; y < 30; y++) for (let x = 5; x < 12; x++) mask[y * W + x] = 1;
    const map = Float32Array.from(mask);
    assert.deepEqual(pointingGame(map, H, W, [{ boxes: [], mask }]), Int8Array.of(1));
    assert.deepEqual(energyPointing(map, H, W, [{ boxes: [], mask }]), Float32Array.of(1));
  });

  it("hits within the tolerance by Euclidean distance to the nearest object pixel", () => {
    // Nearest box pixel to (28, 26) is (19, 14): dx 9, dy 12, distance exactly 15.
    const peaks: [number, number][] = [
      [15, 10], // inside
      [28, 26], // distance 15
      [29, 26], // distance sqrt(100 + 144) > 15
      [19, 30], // straight below the corner by 16
    ];
    const maps = new Float32Array(peaks.length * H * W);
    peaks.forEach(([x, y], i) => maps.set(mapWith([[x, y, 1]]), i * H * W));
    const regions = peaks.map(() => ({ boxes: [box] }));
    assert.deepEqual(pointingGame(maps, H, W, regions), Int8Array.of(1, 1, 0, 0));
    assert.deepEqual(pointingGame(maps, H, W, regions, 16), Int8Array.of(1, 1, 1, 1));
    assert.deepEqual(pointingGame(maps, H, W, regions, 0), Int8Array.of(1, 0, 0, 0));
  });

  it("prefers the mask over the boxes, takes the first maximum, and marks missing annotations", () => {
    const mask = new Uint8Array(H * W);
    mask[35 * W + 45] = 1;
    const map = mapWith([
      [45, 35, 2],
      [12, 8, 2],
    ]);
    const maps = new Float32Array(3 * H * W);
    maps.set(map);
    maps.set(map, H * W);
    maps.set(map, 2 * H * W);
    // The first maximum in row-major order is (12, 8), inside the box but 30 px from the mask.
    const regions = [
      { boxes: [box], mask },
      { boxes: [box] },
      { boxes: [], mask: new Uint8Array(H * W) },
    ];
    assert.deepEqual(pointingGame(maps, H, W, regions), Int8Array.of(0, 1, -1));
    const energy = energyPointing(maps, H, W, regions);
    assert.deepEqual(Array.from(energy.subarray(0, 2)), [0.5, 0.5]);
    assert.ok(Number.isNaN(energy[2]));
  });

  it("energy is the share of the positive map inside the boxes", () => {
    const uniform = new Float32Array(H * W).fill(3);
    const quarter = { x0: 0, y0: 0, x1: 25, y1: 20 };
    const negativeInside = Float32Array.from({ length: H * W }, (_, p) =>
      p % W < 25 && p < 20 * W ? -5 : 1,
    );
    const maps = new Float32Array(3 * H * W);
    maps.set(uniform);
    maps.set(negativeInside, H * W);
    const regions = [{ boxes: [quarter] }, { boxes: [quarter] }, { boxes: [quarter] }];
    assert.deepEqual(energyPointing(maps, H, W, regions), Float32Array.of(0.25, 0, 0));
  });

  it("rejects maps and annotations that do not match", () => {
    assert.throws(() => pointingGame(new Float32Array(7), H, W, []), /not a whole number/);
    assert.throws(() => energyPointing(new Float32Array(H * W), H, W, []), /need as many/);
  });
});
