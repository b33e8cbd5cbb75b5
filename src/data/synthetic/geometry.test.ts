import { test } from "node:test";
import assert from "node:assert/strict";
import { insidePolygon, radialPolygon, sinCos } from "./geometry.ts";

test("sinCos() matches Math.sin and Math.cos", () => {
  for (let angle = -20; angle <= 20; angle += 0.001) {
    const [sin, cos] = sinCos(angle);
    assert.ok(Math.abs(sin - Math.sin(angle)) < 1e-10, `sin ${angle}`);
    assert.ok(Math.abs(cos - Math.cos(angle)) < 1e-10, `cos ${angle}`);
  }
});

test("radialPolygon() puts vertices at the given radii, the first one straight up", () => {
  const square = radialPolygon([1, 2, 1, 2]);
  const expected = [
    [0, -1],
    [2, 0],
    [0, 1],
    [-2, 0],
  ];
  square.forEach(([x, y], k) => {
    assert.ok(Math.abs(x - expected[k]![0]!) < 1e-12 && Math.abs(y - expected[k]![1]!) < 1e-12);
  });
});

test("insidePolygon() handles non-convex polygons", () => {
  // A "U": the notch between the arms is outside.
  const u = [
    [0, 0],
    [1, 0],
    [1, 3],
    [2, 3],
    [2, 0],
    [3, 0],
    [3, 4],
    [0, 4],
  ] as const;
  assert.ok(insidePolygon(0.5, 1, u));
  assert.ok(insidePolygon(2.5, 1, u));
  assert.ok(!insidePolygon(1.5, 1, u));
  assert.ok(insidePolygon(1.5, 3.5, u));
  assert.ok(!insidePolygon(4, 1, u));
});
