import assert from "node:assert/strict";
import { test } from "node:test";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

// Tile is linear: central differences are exact up to float32 rounding.
function tiled(x: number[], repeats: number[]) {
  return singleOp("Tile", x, {}, [
    { name: "repeats", dims: [repeats.length], data: repeats, int64: true },
  ]);
}

for (const [name, x, repeats] of [
  ["two axes repeated", [3, 2], [1, 2, 3]],
  ["one axis of a feature map", [2, 3, 2], [1, 1, 4, 1]],
  ["no repeats", [3, 2], [1, 1, 1]],
] as const) {
  test(`Tile gradient matches finite differences: ${name}`, async (t) => {
    await assertGradients(t, tiled([...x], [...repeats]), 1e-4);
  });
}

test("Tile along the batch axis is refused", async () => {
  await assert.rejects(
    vjpAt(tiled([3], [2, 1]), new Float32Array(6)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Tile_0".*batch axis/.test(e.message),
  );
});
