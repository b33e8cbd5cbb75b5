import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients } from "../testing/assertions.ts";
import { singleOp } from "../testing/graph.ts";

const cases: { name: string; x: number[]; attrs: Record<string, AttrValue>; opset?: number }[] = [
  { name: "2x2 stride 2", x: [3, 6, 6], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  {
    name: "3x3 stride 2 pad 1, odd size, pads excluded",
    x: [2, 7, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: "3x3 stride 2 pad 1, odd size, count_include_pad",
    x: [2, 7, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  {
    name: "ceil_mode overhang, no pads",
    x: [2, 8, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
  },
  {
    name: "ceil_mode overhang past the end pad, count_include_pad",
    x: [2, 6, 8],
    attrs: {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      ceil_mode: 1,
      count_include_pad: 1,
    },
  },
  {
    name: "ceil_mode, pads excluded",
    x: [2, 6, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
  },
  {
    name: "asymmetric pads, count_include_pad",
    x: [2, 6, 5],
    attrs: { kernel_shape: [3, 2], strides: [1, 2], pads: [0, 1, 2, 0], count_include_pad: 1 },
  },
  {
    name: "3x3 stride 1 pad 1",
    x: [2, 5, 5],
    attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  {
    name: "auto_pad SAME_UPPER stride 2",
    x: [2, 7, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER" },
  },
  {
    name: "dilation 2 (opset 19)",
    x: [2, 9, 8],
    attrs: {
      kernel_shape: [3, 2],
      dilations: [2, 2],
      strides: [2, 1],
      pads: [2, 1, 1, 1],
      count_include_pad: 1,
    },
    opset: 19,
  },
  {
    name: "1-D, ceil_mode, count_include_pad",
    x: [3, 10],
    attrs: { kernel_shape: [4], strides: [3], pads: [1, 1], ceil_mode: 1, count_include_pad: 1 },
  },
  {
    name: "opset 9 form",
    x: [2, 7, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2] },
    opset: 9,
  },
];

for (const c of cases) {
  test(`AveragePool gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, singleOp("AveragePool", c.x, c.attrs, [], c.opset), 1e-4);
  });
}
