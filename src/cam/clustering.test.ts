import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clusterPoints, farthestPointIndices } from "./clustering.ts";

describe("farthestPointIndices", () => {
  it("takes the point farthest from its nearest chosen centre next", () => {
    // Nearest-centre distances after 0 and 10: 0, 0, 1, 1, 25.
    assert.deepEqual(farthestPointIndices(Float32Array.of(0, 10, 1, 9, 5), 1, 3, 0), [0, 1, 4]);
  });

  it("breaks ties by the lowest index and measures squared Euclidean distance", () => {
    assert.deepEqual(farthestPointIndices(Float32Array.of(0, 0, 2, 0, -2, 0), 2, 2, 0), [0, 1]);
    // (3, 4) is 25 away from the origin, (0, 4.5) 20.25.
    assert.deepEqual(farthestPointIndices(Float32Array.of(0, 0, 0, 4.5, 3, 4), 2, 2, 0), [0, 2]);
  });

  it("repeats a point once every point is a centre", () => {
    assert.deepEqual(farthestPointIndices(Float32Array.of(1, 1, 2), 1, 3, 2), [2, 0, 0]);
  });
});

describe("clusterPoints", () => {
  it("separates well separated groups", () => {
    const points = Float32Array.of(0, 0, 5, 5.1, 0.1, 0.2, 5.2, 4.9);
    assert.deepEqual(clusterPoints(points, 2, 2, 0), [0, 1, 0, 1]);
  });

  it("leaves a cluster seeded by a duplicate centre empty", () => {
    assert.deepEqual(clusterPoints(Float32Array.of(1, 1, 2), 1, 3, 2), [1, 1, 0]);
  });

  it("runs Lloyd's iterations from the farthest-point centres", () => {
    // Centres start at 0 (index 0) and 10 (index 3); 4 is nearer 0, so the first cluster's mean
    // becomes 2, after which 6 is still nearer 10's cluster mean (8).
    assert.deepEqual(clusterPoints(Float32Array.of(0, 4, 6, 10), 1, 2, 0), [0, 0, 1, 1]);
  });
});
