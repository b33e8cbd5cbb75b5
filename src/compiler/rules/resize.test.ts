import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

const X = [2, 4, 5];

/** Resize of x [N, 2, 4, 5] (opset 11+: X, roi, scales, sizes) by constant scales. */
function byScales(
  scales: number[],
  attrs: Record<string, AttrValue>,
  opset = 13,
  dims = X,
): OnnxModel {
  return buildModel({
    inputs: [{ name: "x", dims }],
    constants: [{ name: "scales", dims: [scales.length], data: scales }],
    nodes: [
      {
        op: "Resize",
        inputs: opset >= 11 ? ["x", "", "scales"] : ["x", "scales"],
        outputs: ["y"],
        attrs,
      },
    ],
    outputs: ["y"],
    opset,
  });
}

/** Resize to spatial `size`, the sizes input computed at run time from Shape(x) as exporters do. */
function bySizes(size: [number, number], attrs: Record<string, AttrValue>): OnnxModel {
  return buildModel({
    inputs: [{ name: "x", dims: X }],
    constants: [
      { name: "start", dims: [1], data: [0], int64: true },
      { name: "two", dims: [1], data: [2], int64: true },
      { name: "hw", dims: [2], data: size, int64: true },
    ],
    nodes: [
      { op: "Shape", inputs: ["x"], outputs: ["shape"] },
      { op: "Slice", inputs: ["shape", "start", "two"], outputs: ["nc"] },
      { op: "Concat", inputs: ["nc", "hw"], outputs: ["sizes"], attrs: { axis: 0 } },
      { op: "Resize", inputs: ["x", "", "", "sizes"], outputs: ["y"], attrs },
    ],
    outputs: ["y"],
  });
}

/** Opset 18 Resize of the spatial axes only (axes attribute) to constant sizes. */
function bySpatialSizes(sizes: [number, number], attrs: Record<string, AttrValue>): OnnxModel {
  return buildModel({
    inputs: [{ name: "x", dims: X }],
    constants: [{ name: "sizes", dims: [2], data: sizes, int64: true }],
    nodes: [
      {
        op: "Resize",
        inputs: ["x", "", "", "sizes"],
        outputs: ["y"],
        attrs: { axes: [2, 3], ...attrs },
      },
    ],
    outputs: ["y"],
    opset: 18,
  });
}

const nearest = (extra: Record<string, AttrValue> = {}) => ({ mode: "nearest", ...extra });
const linear = (extra: Record<string, AttrValue> = {}) => ({ mode: "linear", ...extra });
const coords = (mode: string) => ({ coordinate_transformation_mode: mode });

const cases: { name: string; model: OnnxModel }[] = [
  { name: "nearest x2, half_pixel, round_prefer_floor", model: byScales([1, 1, 2, 2], nearest()) },
  // Asymmetric x2 samples at exact halves (x / 2), where the rounding modes differ.
  {
    name: "nearest x2, asymmetric, round_prefer_floor",
    model: byScales([1, 1, 2, 2], nearest(coords("asymmetric"))),
  },
  {
    name: "nearest x2, asymmetric, round_prefer_ceil",
    model: byScales(
      [1, 1, 2, 2],
      nearest({ ...coords("asymmetric"), nearest_mode: "round_prefer_ceil" }),
    ),
  },
  {
    name: "nearest x2, asymmetric, floor (PyTorch's nearest)",
    model: byScales([1, 1, 2, 2], nearest({ ...coords("asymmetric"), nearest_mode: "floor" })),
  },
  {
    name: "nearest x1.5 / x0.6, half_pixel, ceil",
    model: byScales([1, 1, 1.5, 0.6], nearest({ nearest_mode: "ceil" })),
  },
  // Half-pixel x0.5 samples at 2x + 0.5, exact halves again.
  { name: "nearest x0.5, half_pixel", model: byScales([1, 1, 0.5, 0.5], nearest(), 13, [2, 6, 8]) },
  {
    name: "nearest, align_corners, sizes from Shape",
    model: bySizes([7, 3], nearest(coords("align_corners"))),
  },
  {
    name: "nearest, tf_half_pixel_for_nn",
    model: byScales([1, 1, 1.75, 2.5], nearest(coords("tf_half_pixel_for_nn"))),
  },
  { name: "linear x2, half_pixel", model: byScales([1, 1, 2, 2], linear()) },
  {
    name: "linear x1.5 / x0.75, half_pixel",
    model: byScales([1, 1, 1.5, 0.75], linear(), 13, [2, 4, 8]),
  },
  {
    name: "linear, align_corners, sizes from Shape",
    model: bySizes([7, 9], linear(coords("align_corners"))),
  },
  {
    name: "linear x2.5 / x0.5, asymmetric",
    model: byScales([1, 1, 2.5, 0.5], linear(coords("asymmetric"))),
  },
  {
    name: "linear, pytorch_half_pixel, output height 1",
    model: bySizes([1, 8], linear(coords("pytorch_half_pixel"))),
  },
  { name: "linear, one axis at scale 1", model: byScales([1, 1, 1, 1.6], linear()) },
  {
    name: "scales leaving the size unchanged (copied)",
    model: byScales([1, 1, 1.1, 1.1], linear()),
  },
  { name: "opset 18 axes and sizes", model: bySpatialSizes([9, 4], linear()) },
  {
    name: "opset 18 keep_aspect_ratio_policy not_larger",
    model: bySpatialSizes([8, 20], nearest({ keep_aspect_ratio_policy: "not_larger" })),
  },
  {
    name: "opset 19 half_pixel_symmetric",
    model: byScales([1, 1, 1.7, 0.8], linear(coords("half_pixel_symmetric")), 19),
  },
  { name: "opset 10 nearest x2 / x3", model: byScales([1, 1, 2, 3], nearest(), 10) },
  {
    name: "opset 10 linear x0.5 / x1.5",
    model: byScales([1, 1, 0.5, 1.5], linear(), 10, [2, 6, 4]),
  },
];

for (const c of cases) {
  test(`Resize gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, c.model, 1e-4);
  });
}

for (const [name, mode, opset] of [
  ["nearest, opset 9 scales input", "nearest", 9],
  ["linear, opset 9 scales input", "linear", 9],
  ["nearest, opset 8 scales attribute", "nearest", 8],
  ["linear, opset 7 scales attribute", "linear", 7],
] as const) {
  test(`Upsample gradient matches finite differences: ${name}`, async (t) => {
    const scales = [1, 1, 2, 3];
    const model = buildModel({
      inputs: [{ name: "x", dims: X }],
      constants: opset >= 9 ? [{ name: "scales", dims: [4], data: scales }] : [],
      nodes: [
        {
          op: "Upsample",
          inputs: opset >= 9 ? ["x", "scales"] : ["x"],
          outputs: ["y"],
          attrs: { mode, ...(opset < 9 ? { scales: { floats: scales } } : {}) },
        },
      ],
      outputs: ["y"],
      opset,
    });
    await assertGradients(t, model, 1e-4);
  });
}

test("Resize refuses cubic, antialias and tf_crop_and_resize, naming the node", async () => {
  const x = new Float32Array(40);
  const isRefusal = (e: Error & { code?: string }) =>
    e.code === "UNSUPPORTED_OP" && /"Resize_0"/.test(e.message);
  await assert.rejects(vjpAt(byScales([1, 1, 2, 2], { mode: "cubic" }), x), isRefusal);
  await assert.rejects(vjpAt(byScales([1, 1, 2, 2], linear({ antialias: 1 }), 18), x), isRefusal);
  const crop = buildModel({
    inputs: [{ name: "x", dims: X }],
    constants: [
      { name: "roi", dims: [8], data: [0, 0, 0.1, 0.1, 1, 1, 0.9, 0.9] },
      { name: "scales", dims: [4], data: [1, 1, 2, 2] },
    ],
    nodes: [
      {
        op: "Resize",
        inputs: ["x", "roi", "scales"],
        outputs: ["y"],
        attrs: linear(coords("tf_crop_and_resize")),
      },
    ],
    outputs: ["y"],
  });
  await assert.rejects(vjpAt(crop, x), isRefusal);
});
