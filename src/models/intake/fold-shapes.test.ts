import assert from "node:assert/strict";
import { test } from "node:test";
import { compileBackward } from "../../compiler/compile.ts";
import { exactGradient } from "../../compiler/rules/index.ts";
import { assertGradients } from "../../compiler/testing/assertions.ts";
import { spacedValues } from "../../compiler/testing/finite-difference.ts";
import { buildModel } from "../../compiler/testing/graph.ts";
import { Engine, Tensor } from "../../engine/engine.ts";
import { foldStaticShapes } from "./fold-shapes.ts";
import { makeAttr } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { AttributeType, DataType, type GraphProto } from "../../onnx/proto.ts";
import { int64Tensor } from "../../onnx/tensor.ts";
import { inferShapes } from "../../engine/probe.ts";

const INT_MAX = 2 ** 31 - 1;
const int64 = (name: string, data: number[], dims = [data.length]) => ({
  name,
  dims,
  data,
  int64: true,
});

/**
 * ShuffleNet v2's unit as torch exports it: the channels split in half at x.size(1) // 2 (Slice
 * bounds from Shape), one half through a ReLU, concatenated, and shuffled by reshapes to
 * [N, 2, C/2, H, W] and back, whose targets start with the batch size.
 */
function shuffleUnit(): OnnxModel {
  return buildModel({
    inputs: [{ name: "x", dims: [8, 3, 3] }],
    constants: [
      int64("i0", [0], []),
      int64("i1", [1], []),
      int64("two", [2], []),
      int64("zero", [0]),
      int64("end", [INT_MAX]),
      int64("axis1", [1]),
      int64("axis0", [0]),
      int64("groups", [2]),
      int64("rest", [4, 3, 3]),
      int64("flat", [8, 3, 3]),
    ],
    nodes: [
      { op: "Shape", inputs: ["x"], outputs: ["s"] },
      { op: "Gather", inputs: ["s", "i1"], outputs: ["c"], attrs: { axis: 0 } },
      { op: "Div", inputs: ["c", "two"], outputs: ["half"] },
      { op: "Unsqueeze", inputs: ["half", "axis0"], outputs: ["mid"] },
      { op: "Slice", inputs: ["x", "zero", "mid", "axis1"], outputs: ["a"] },
      { op: "Slice", inputs: ["x", "mid", "end", "axis1"], outputs: ["b"] },
      { op: "Relu", inputs: ["b"], outputs: ["r"] },
      { op: "Concat", inputs: ["a", "r"], outputs: ["cat"], attrs: { axis: 1 } },
      { op: "Gather", inputs: ["s", "i0"], outputs: ["n"], attrs: { axis: 0 } },
      { op: "Unsqueeze", inputs: ["n", "axis0"], outputs: ["n1"] },
      { op: "Concat", inputs: ["n1", "groups", "rest"], outputs: ["split"], attrs: { axis: 0 } },
      { op: "Reshape", inputs: ["cat", "split"], outputs: ["g"] },
      { op: "Transpose", inputs: ["g"], outputs: ["gt"], attrs: { perm: [0, 2, 1, 3, 4] } },
      { op: "Concat", inputs: ["n1", "flat"], outputs: ["merged"], attrs: { axis: 0 } },
      { op: "Reshape", inputs: ["gt", "merged"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
}

const input = { name: "x", dims: [1, 8, 3, 3] };

async function outputAt(engine: Engine, model: OnnxModel, x: Float32Array, batch: number) {
  const session = await engine.open(model);
  try {
    const out = await session.run({ x: new Tensor("float32", x, [batch, 8, 3, 3]) });
    return out["y"]!.data as Float32Array;
  } finally {
    await session.dispose();
  }
}

test("ShuffleNet's channel split folds to constant Slice bounds; the [N, ...] reshape targets stay", async (t) => {
  const engine = new Engine();
  try {
    const model = shuffleUnit();
    const shapes = await inferShapes(model, engine, input);
    assert.throws(
      () => compileBackward(model, shapes, { wrt: ["x"], ruleSet: exactGradient }),
      /op "Slice" \(node "Slice_5"\) .*computed at run time/,
    );
    const result = await foldStaticShapes(model, engine, input);
    assert.deepEqual(result.folded, ["mid"]);
    assert.deepEqual(result.batchDependent, ["split", "merged"]);
    // Shape, the channel Gather, Div and Unsqueeze go; Shape stays for the batch size.
    assert.equal(result.removedNodes, 3);
    // The folded model computes the same at a batch size neither probe used.
    const x = spacedValues(3 * 72, 4);
    assert.deepEqual(
      await outputAt(engine, result.model, x, 3),
      await outputAt(engine, model, x, 3),
    );
    await assertGradients(t, result.model, 1e-4, { batch: 3 });
  } finally {
    await engine.dispose();
  }
});

test("Swin's pad to a multiple of the window, (w - W % w) % w from Shape, folds to constant pads", async (t) => {
  // W = 5, window 3: pad 1 at the right of the last axis.
  const model = buildModel({
    inputs: [{ name: "x", dims: [2, 5] }],
    constants: [
      int64("i2", [2], []),
      int64("w", [3], []),
      int64("axis0", [0]),
      int64("before", [0, 0, 0, 0, 0]),
    ],
    nodes: [
      { op: "Shape", inputs: ["x"], outputs: ["s"] },
      { op: "Gather", inputs: ["s", "i2"], outputs: ["W"], attrs: { axis: 0 } },
      { op: "Mod", inputs: ["W", "w"], outputs: ["rem"] },
      { op: "Sub", inputs: ["w", "rem"], outputs: ["short"] },
      { op: "Mod", inputs: ["short", "w"], outputs: ["pad"] },
      { op: "Unsqueeze", inputs: ["pad", "axis0"], outputs: ["padEnd"] },
      { op: "Concat", inputs: ["before", "padEnd"], outputs: ["pads"], attrs: { axis: 0 } },
      { op: "Pad", inputs: ["x", "pads"], outputs: ["p"] },
      { op: "Softmax", inputs: ["p"], outputs: ["y"], attrs: { axis: -1 } },
    ],
    outputs: ["y"],
  });
  const engine = new Engine();
  try {
    const result = await foldStaticShapes(model, engine, { name: "x", dims: [1, 2, 5] });
    assert.deepEqual(result.folded, ["pads"]);
    assert.equal(result.model.graph.node.length, 2);
    // Softmax's bound (softmax.test.ts): smooth, not elementwise.
    await assertGradients(t, result.model, 2e-4);
  } finally {
    await engine.dispose();
  }
});

test("a model that cannot run at batch 2 is returned unchanged", async () => {
  const model = buildModel({
    inputs: [{ name: "x", dims: [4] }],
    constants: [int64("one", [1]), int64("zero", [0]), int64("i1", [1], [])],
    nodes: [
      { op: "Shape", inputs: ["x"], outputs: ["s"] },
      { op: "Gather", inputs: ["s", "i1"], outputs: ["c"], attrs: { axis: 0 } },
      { op: "Unsqueeze", inputs: ["c", "zero"], outputs: ["c1"] },
      { op: "Concat", inputs: ["one", "c1"], outputs: ["target"], attrs: { axis: 0 } },
      { op: "Reshape", inputs: ["x", "target"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  const engine = new Engine();
  try {
    const result = await foldStaticShapes(model, engine, { name: "x", dims: [1, 4] });
    assert.equal(result.model, model);
    assert.deepEqual(result.folded, []);
  } finally {
    await engine.dispose();
  }
});

test("a shape value read only inside an If branch is folded to an initializer the branch still sees", async () => {
  // target = If(true) { Concat([-1], c) } with c = [x.size(1)] read from the outer graph only.
  const model = buildModel({
    inputs: [{ name: "x", dims: [4] }],
    constants: [int64("i1", [1], []), int64("axis0", [0])],
    nodes: [
      { op: "Shape", inputs: ["x"], outputs: ["s"] },
      { op: "Gather", inputs: ["s", "i1"], outputs: ["w"], attrs: { axis: 0 } },
      { op: "Unsqueeze", inputs: ["w", "axis0"], outputs: ["c"] },
      { op: "Reshape", inputs: ["x", "target"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  const branch = (name: string): GraphProto => ({
    name,
    node: [
      {
        op_type: "Concat",
        input: ["minus1", "c"],
        output: [`${name}_t`],
        attribute: [makeAttr("axis", 0)],
      },
    ],
    initializer: [int64Tensor("minus1", [1], [-1])],
    input: [],
    output: [{ name: `${name}_t`, type: { tensor_type: { elem_type: DataType.INT64 } } }],
    value_info: [],
  });
  model.graph.initializer.push({
    name: "yes",
    dims: [],
    data_type: DataType.BOOL,
    raw_data: new Uint8Array([1]),
  });
  model.graph.node.splice(3, 0, {
    op_type: "If",
    name: "If_3",
    input: ["yes"],
    output: ["target"],
    attribute: [
      { name: "then_branch", type: AttributeType.GRAPH, g: branch("then") },
      { name: "else_branch", type: AttributeType.GRAPH, g: branch("else") },
    ],
  });
  const engine = new Engine();
  try {
    const result = await foldStaticShapes(model, engine, { name: "x", dims: [1, 4] });
    assert.deepEqual(result.folded, ["c"]);
    assert.deepEqual(
      result.model.graph.node.map((n) => n.op_type),
      ["If", "Reshape"],
    );
    const session = await engine.open(result.model);
    try {
      const x = spacedValues(12, 1);
      const out = await session.run({ x: new Tensor("float32", x, [3, 4]) });
      assert.deepEqual(out["y"]!.dims, [3, 4]);
      assert.deepEqual([...(out["y"]!.data as Float32Array)], [...x]);
    } finally {
      await session.dispose();
    }
  } finally {
    await engine.dispose();
  }
});
