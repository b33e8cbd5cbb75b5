import { test } from "node:test";
import assert from "node:assert/strict";
import { SHAPE_CLASSES } from "./shapes.ts";

/** Share of the unit circle's area a shape covers, and its farthest point from the centre. */
function measure(inside: (x: number, y: number) => boolean): { fill: number; reach: number } {
  const steps = 400;
  let covered = 0;
  let reach = 0;
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      const x = -1.2 + ((i + 0.5) * 2.4) / steps;
      const y = -1.2 + ((j + 0.5) * 2.4) / steps;
      if (!inside(x, y)) continue;
      covered++;
      reach = Math.max(reach, Math.sqrt(x * x + y * y));
    }
  }
  return { fill: (covered * (2.4 / steps) ** 2) / Math.PI, reach };
}

test("at least eight classes with distinct names", () => {
  assert.ok(SHAPE_CLASSES.length >= 8);
  assert.equal(new Set(SHAPE_CLASSES.map((shape) => shape.name)).size, SHAPE_CLASSES.length);
});

for (const shape of SHAPE_CLASSES) {
  test(`${shape.name} fits the unit circle and nearly reaches it`, () => {
    const { fill, reach } = measure(shape.inside);
    assert.ok(reach <= 1, `reach ${reach}`);
    assert.ok(reach > 0.9, `reach ${reach}`);
    // Large enough to be recognised at the smallest drawn size.
    assert.ok(fill > 0.2, `fill ${fill}`);
  });
}
