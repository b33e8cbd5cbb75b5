import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { DataType, type TensorProto } from "../../onnx/proto.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function int64Initializer(name: string, values: readonly (number | bigint)[]): TensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return {
    name,
    dims: [values.length],
    data_type: DataType.INT64,
    raw_data: new Uint8Array(data.buffer),
  };
}

/** Slice of x [N, ...dims] with constant starts, ends and optional axes and steps (opset 13). */
function sliceModel(
  dims: number[],
  starts: number[],
  ends: (number | bigint)[],
  axes?: number[],
  steps?: number[],
): OnnxModel {
  const args = { starts, ends, ...(axes ? { axes } : {}), ...(steps ? { steps } : {}) };
  const model = buildModel({
    inputs: [{ name: "x", dims }],
    nodes: [{ op: "Slice", inputs: ["x", ...Object.keys(args)], outputs: ["y"] }],
    outputs: ["y"],
  });
  // Exact int64 constants: INT64_MAX/MIN ends are not representable as plain numbers.
  for (const [name, values] of Object.entries(args))
    model.graph.initializer.push(int64Initializer(name, values));
  return model;
}

const cases: { name: string; model: OnnxModel }[] = [
  { name: "crop of both spatial axes", model: sliceModel([2, 6, 7], [1, 2], [-1, 6], [2, 3]) },
  { name: "INT64 max end, negative axis", model: sliceModel([2, 5, 6], [2], [INT64_MAX], [-1]) },
  {
    name: "axes omitted, whole batch axis",
    model: sliceModel([3, 5], [0, 1, -3], [INT64_MAX, 3, INT64_MAX]),
  },
  { name: "clamped starts and ends", model: sliceModel([2, 5, 4], [-100, 1], [100, 200], [2, 3]) },
  { name: "step 2 on an odd size", model: sliceModel([2, 7, 6], [0, 1], [7, 6], [2, 3], [2, 2]) },
  { name: "step 3 leaving a remainder", model: sliceModel([2, 8], [1], [INT64_MAX], [2], [3]) },
  { name: "reversal (step -1)", model: sliceModel([3, 5], [-1], [INT64_MIN], [-1], [-1]) },
  {
    name: "step -2 from an inner start",
    model: sliceModel([2, 9, 4], [7, 3], [0, -5], [2, 3], [-2, -1]),
  },
  { name: "step 2 with one element taken", model: sliceModel([2, 5], [3], [5], [2], [4]) },
];

for (const c of cases) {
  test(`Slice gradient matches finite differences: ${c.name}`, async (t) => {
    await assertGradients(t, c.model, 1e-4);
  });
}

test("Slice gradient matches finite differences: attribute form (opset 9)", async (t) => {
  const attrs: Record<string, AttrValue> = { starts: [1, 0], ends: [-1, 2], axes: [3, 1] };
  const model = buildModel({
    inputs: [{ name: "x", dims: [3, 4, 6] }],
    nodes: [{ op: "Slice", inputs: ["x"], outputs: ["y"], attrs }],
    outputs: ["y"],
    opset: 9,
  });
  await assertGradients(t, model, 1e-4);
});

test("Slice of part of the batch axis is refused, naming the node", async () => {
  await assert.rejects(
    vjpAt(sliceModel([3], [0], [1], [0]), new Float32Array(3)),
    (e: Error & { code?: string }) =>
      e.code === "UNSUPPORTED_OP" && /"Slice_0".*batch axis/.test(e.message),
  );
});
