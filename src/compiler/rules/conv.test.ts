import assert from "node:assert/strict";
import { test } from "node:test";
import { createRng } from "../../util/random.ts";
import { checkGradients } from "../testing/finite-difference.ts";
import { singleOp } from "../testing/graph.ts";

function weights(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * 0.5);
}

const cases: {
  name: string;
  x: number[];
  w: number[];
  attrs: Record<string, number | number[] | string>;
}[] = [
  { name: "3x3 pad 1 stride 1", x: [3, 6, 6], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  {
    name: "stride 2 odd size",
    x: [2, 7, 7],
    w: [3, 2, 3, 3],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  { name: "stride 2 no pad, uneven", x: [2, 8, 9], w: [3, 2, 3, 2], attrs: { strides: [2, 3] } },
  {
    name: "dilation 2",
    x: [2, 9, 9],
    w: [2, 2, 3, 3],
    attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] },
  },
  { name: "grouped", x: [4, 6, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  {
    name: "depthwise stride 2",
    x: [4, 7, 7],
    w: [4, 1, 3, 3],
    attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: "depthwise stride 1",
    x: [4, 6, 6],
    w: [4, 1, 3, 3],
    attrs: { group: 4, pads: [1, 1, 1, 1] },
  },
  { name: "asymmetric pads", x: [2, 6, 6], w: [3, 2, 3, 3], attrs: { pads: [0, 1, 2, 0] } },
  { name: "pad larger than reach", x: [2, 5, 5], w: [2, 2, 1, 1], attrs: { pads: [1, 1, 1, 1] } },
  {
    name: "auto_pad SAME_UPPER stride 2",
    x: [2, 7, 6],
    w: [2, 2, 3, 3],
    attrs: { auto_pad: "SAME_UPPER", strides: [2, 2] },
  },
  { name: "auto_pad SAME_LOWER", x: [2, 6, 6], w: [2, 2, 2, 2], attrs: { auto_pad: "SAME_LOWER" } },
  { name: "1x1 conv", x: [5, 4, 4], w: [3, 5, 1, 1], attrs: {} },
];

for (const c of cases) {
  test(`Conv gradient matches finite differences: ${c.name}`, async () => {
    const size = c.w.reduce((a, b) => a * b, 1);
    const model = singleOp("Conv", c.x, c.attrs, [
      { name: "w", dims: c.w, data: weights(size, 7) },
      { name: "bias", dims: [c.w[0]!], data: weights(c.w[0]!, 8) },
    ]);
    const [r] = await checkGradients(model);
    assert.ok(r!.relativeError < 1e-4, `relative error ${r!.relativeError}`);
  });
}
