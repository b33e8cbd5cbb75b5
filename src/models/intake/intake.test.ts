import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { buildModel, type GraphSpec } from "../../compiler/testing/graph.ts";
import { Engine, Tensor } from "../../engine/engine.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { createRng } from "../../util/random.ts";
import { halfToFloat } from "./float16.ts";
import { intake } from "./index.ts";

const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

const C = 5;
const rng = createRng(7);
// Images are [3, 4, 5] (C, H, W): 60 values.
const weights = Float32Array.from({ length: C * 60 }, () => rng.normal());

/** A linear classifier over a [3, 4, 5] image: Flatten -> MatMul, plus `tail` nodes on "z". */
function classifier(tail: GraphSpec["nodes"], output: string, extra: Partial<GraphSpec> = {}) {
  return buildModel({
    inputs: [{ name: "input", dims: [3, 4, 5] }],
    constants: [{ name: "W", dims: [60, C], data: weights }, ...(extra.constants ?? [])],
    nodes: [
      { op: "Flatten", inputs: ["input"], outputs: ["flat"] },
      { op: "MatMul", inputs: ["flat", "W"], outputs: ["z"] },
      ...tail,
    ],
    outputs: [output],
    ...(extra.opset ? { opset: extra.opset } : {}),
  });
}

async function run(model: OnnxModel, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await engine.open(model);
  try {
    const name = model.inputs()[0]!.name;
    const out = await session.run({ [name]: new Tensor("float32", input, dims) });
    return Object.values(out)[0]!.data as Float32Array;
  } finally {
    await session.dispose();
  }
}

const x = Float32Array.from({ length: 3 * 60 }, () => rng.normal());

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `[${i}] ${actual[i]} vs ${expected[i]}`,
    );
  }
}

function softmaxRows(z: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length / classes; r++) {
    const row = z.subarray(r * classes, (r + 1) * classes);
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    row.forEach((v, k) => (out[r * classes + k] = Math.exp(v - max) / sum));
  }
  return out;
}

describe("intake: heads", () => {
  test("a plain [N, C] output is kept as the logits", async () => {
    const { output, report } = await intake(classifier([], "z"), { engine });
    assert.equal(output, "z");
    assert.equal(report.head, "logits");
    assert.deepEqual(report.changes, []);
  });

  for (const [head, op] of [
    ["softmax", "Softmax"],
    ["logsoftmax", "LogSoftmax"],
  ] as const) {
    test(`a trailing ${op} is stripped: the output is its input, the logits`, async () => {
      const original = classifier([{ op, inputs: ["z"], outputs: ["p"], attrs: { axis: 1 } }], "p");
      const { model, output, report } = await intake(original, { engine });
      assert.equal(report.head, head);
      assert.equal(output, "z");
      assert.ok(!model.graph.node.some((n) => n.op_type === op), "the softmax is gone");
      const logits = await run(model, x, [3, 3, 4, 5]);
      const probabilities = await run(original, x, [3, 3, 4, 5]);
      const expected = softmaxRows(logits, C);
      const p = head === "softmax" ? probabilities : probabilities.map(Math.exp);
      assertClose(p, expected);
    });
  }

  test("Softmax over [N, C, 1, 1] (SqueezeNet's head) and behind a Flatten is found", async () => {
    const nodes = [
      { op: "Unsqueeze", inputs: ["z", "axes"], outputs: ["z4"] },
      { op: "Softmax", inputs: ["z4"], outputs: ["p4"], attrs: { axis: 1 } },
      { op: "Flatten", inputs: ["p4"], outputs: ["p"] },
    ];
    const constants = [{ name: "axes", dims: [2], data: [2, 3], int64: true }];
    for (const [tail, out] of [
      [nodes.slice(0, 2), "p4"],
      [nodes, "p"],
    ] as const) {
      const { model, output, report } = await intake(classifier([...tail], out, { constants }), {
        engine,
      });
      assert.equal(report.head, "softmax");
      assert.deepEqual(report.exportedOutput.dims, out === "p4" ? [1, C, 1, 1] : [1, C]);
      assert.equal(output, "camscope/logits", "the [N, C, 1, 1] logits are flattened");
      assertClose(
        await run(model, x, [3, 3, 4, 5]),
        await run(classifier([], "z"), x, [3, 3, 4, 5]),
      );
    }
  });

  test("[N, 1, C] scores are flattened to [N, C]", async () => {
    const tail = [{ op: "Unsqueeze", inputs: ["z", "axes"], outputs: ["z3"] }];
    const constants = [{ name: "axes", dims: [1], data: [1], int64: true }];
    const { output, report } = await intake(classifier(tail, "z3", { constants }), { engine });
    assert.equal(report.classes, C);
    assert.equal(output, "camscope/logits");
  });

  test("an output that is not a class vector is refused, naming its shape", async () => {
    const tail = [{ op: "Reshape", inputs: ["z", "shape"], outputs: ["map"] }];
    const constants = [{ name: "shape", dims: [4], data: [-1, 1, 5, 1], int64: true }];
    await assert.rejects(intake(classifier(tail, "map", { constants }), { engine }), (e: Error) => {
      assert.match(e.message, /output "map" has shape \[N, 1, 5, 1\]/);
      return (e as { code?: string }).code === "UNSUPPORTED_MODEL";
    });
  });

  test("a Softmax over another axis is not taken for a class softmax", async () => {
    const tail = [
      { op: "Unsqueeze", inputs: ["z", "axes"], outputs: ["z3"] },
      { op: "Softmax", inputs: ["z3"], outputs: ["p"], attrs: { axis: 1 } },
    ];
    const constants = [{ name: "axes", dims: [1], data: [1], int64: true }];
    // Softmax over the size-1 axis of [N, 1, C] is constant 1, not class probabilities.
    await assert.rejects(
      intake(classifier(tail, "p", { constants }), { engine }),
      /not over its 5 classes/,
    );
  });

  test("several outputs need a choice; the chosen one is kept alone", async () => {
    const tail = [{ op: "Relu", inputs: ["z"], outputs: ["r"] }];
    const model = classifier(tail, "z");
    model.graph.output.push({ ...model.graph.output[0]!, name: "r" });
    await assert.rejects(
      intake(model, { engine }),
      /has 2 outputs \(z, r\); name the class-score output with --output/,
    );
    const chosen = await intake(model, { engine, output: "r", outputFrom: "--output" });
    assert.equal(chosen.output, "r");
    assert.deepEqual(
      chosen.model.outputs().map((o) => o.name),
      ["r"],
    );
    await assert.rejects(
      intake(model, { engine, output: "q", outputFrom: "--output" }),
      /--output names output "q"/,
    );
  });
});

describe("intake: NHWC inputs", () => {
  test("a channels-last input gets an NCHW entry; outputs equal the original on transposed data", async () => {
    // The model reads [N, H, W, C] = [N, 4, 5, 3] and transposes it itself, as tf2onnx writes it.
    const original = buildModel({
      inputs: [{ name: "input", dims: [4, 5, 3] }],
      constants: [{ name: "W", dims: [60, C], data: weights }],
      nodes: [
        { op: "Transpose", inputs: ["input"], outputs: ["nchw"], attrs: { perm: [0, 3, 1, 2] } },
        { op: "Flatten", inputs: ["nchw"], outputs: ["flat"] },
        { op: "MatMul", inputs: ["flat", "W"], outputs: ["z"] },
      ],
      outputs: ["z"],
    });
    const { model, report } = await intake(original, { engine });
    assert.equal(report.layout, "NHWC");
    assert.deepEqual(
      model.inputs()[0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value ?? d.dim_param),
      ["N", 3, 4, 5],
    );
    // NCHW data [3, 3, 4, 5] and its NHWC transpose give the same logits.
    const nhwc = new Float32Array(x.length);
    for (let n = 0; n < 3; n++)
      for (let c = 0; c < 3; c++)
        for (let h = 0; h < 4; h++)
          for (let w = 0; w < 5; w++)
            nhwc[((n * 4 + h) * 5 + w) * 3 + c] = x[((n * 3 + c) * 4 + h) * 5 + w]!;
    assertClose(await run(model, x, [3, 3, 4, 5]), await run(original, nhwc, [3, 4, 5, 3]));
  });
});

describe("intake: fixed batch", () => {
  function fixedBatch(shapeFirst: number): OnnxModel {
    const model = buildModel({
      inputs: [{ name: "input", dims: [3, 4, 5] }],
      constants: [
        { name: "W", dims: [60, C], data: weights },
        { name: "shape", dims: [2], data: [shapeFirst, 60], int64: true },
      ],
      nodes: [
        { op: "Reshape", inputs: ["input", "shape"], outputs: ["flat"] },
        { op: "MatMul", inputs: ["flat", "W"], outputs: ["z"] },
      ],
      outputs: ["z"],
    });
    model.graph.input[0]!.type!.tensor_type!.shape!.dim![0] = { dim_value: 1 };
    return model;
  }

  test("a batch-1 Reshape constant is rewritten and the batch made symbolic", async () => {
    const { model, report } = await intake(fixedBatch(1), { engine });
    assert.deepEqual(report.batch, { kind: "symbolic", exported: 1 });
    const rows = await run(model, x, [3, 3, 4, 5]);
    const each = await run(classifier([], "z"), x, [3, 3, 4, 5]);
    assertClose(rows, each);
  });

  test("a graph the rewrite cannot serve runs in chunks of its fixed batch", async () => {
    // Reshape to [3, 20] regroups each image's values into rows: at another batch the constant is
    // wrong, and no rewrite of leading batch entries can fix it.
    const model = buildModel({
      inputs: [{ name: "input", dims: [3, 4, 5] }],
      constants: [
        { name: "W", dims: [20, C], data: weights.subarray(0, 20 * C) },
        { name: "shape", dims: [2], data: [1, -1], int64: true },
        { name: "shape2", dims: [2], data: [3, 20], int64: true },
      ],
      nodes: [
        { op: "Reshape", inputs: ["input", "shape"], outputs: ["flat"] },
        { op: "Reshape", inputs: ["flat", "shape2"], outputs: ["rows"] },
        { op: "MatMul", inputs: ["rows", "W"], outputs: ["z3"] },
        { op: "ReduceSum", inputs: ["z3", "axes"], outputs: ["z"], attrs: { keepdims: 1 } },
      ],
      outputs: ["z"],
    });
    model.graph.initializer.push(
      ...buildModel({
        inputs: [],
        constants: [{ name: "axes", dims: [1], data: [0], int64: true }],
        nodes: [],
        outputs: [],
      }).graph.initializer,
    );
    model.graph.input[0]!.type!.tensor_type!.shape!.dim![0] = { dim_value: 1 };
    const { model: taken, report } = await intake(model, { engine });
    assert.equal(report.batch.kind, "chunked");
    // Three images give what three batch-1 runs give.
    const rows = await run(taken, x, [3, 3, 4, 5]);
    const single = new Float32Array(3 * C);
    for (let i = 0; i < 3; i++) {
      single.set(await run(model, x.subarray(i * 60, (i + 1) * 60), [1, 3, 4, 5]), i * C);
    }
    assertClose(rows, single);
  });
});

describe("intake: float16", () => {
  test("half-precision bits widen exactly", () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x3555), 0.333251953125);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });
});
