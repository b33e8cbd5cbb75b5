import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CamscopeError } from "../../errors.ts";
import { Engine, Tensor } from "../../engine/engine.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { createRng } from "../../util/random.ts";
import { compileBackward } from "../compile.ts";
import { vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";
import { lrpRuleSet, uniformComposite } from "./composites.ts";
import { inferShapes } from "../../engine/probe.ts";

function draw(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

const lrp = (model: OnnxModel, x: Float32Array, r: Float32Array) =>
  vjpAt(model, x, r, lrpRuleSet(model, uniformComposite({ rule: "epsilon" })));

function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)),
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

describe("gated and normalised products keep the relevance with the signal", () => {
  test("SiLU, x * Sigmoid(x): relevance passes unchanged, the gate gets none", async () => {
    const model = buildModel({
      inputs: [{ name: "x", dims: [6] }],
      nodes: [
        { op: "Sigmoid", inputs: ["x"], outputs: ["g"] },
        { op: "Mul", inputs: ["x", "g"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const r = draw(12, 2);
    assertNear(await lrp(model, draw(12, 1), r), r, 0);
  });

  test("squeeze-excitation: a per-channel gate of the pooled signal scales it; R stays with x", async () => {
    const model = buildModel({
      inputs: [{ name: "x", dims: [2, 2, 3] }],
      constants: [{ name: "w", dims: [2, 2, 1, 1], data: [0.5, -1, 2, 0.25] }],
      nodes: [
        { op: "GlobalAveragePool", inputs: ["x"], outputs: ["p"] },
        { op: "Conv", inputs: ["p", "w"], outputs: ["c"] },
        { op: "Sigmoid", inputs: ["c"], outputs: ["g"] },
        { op: "Mul", inputs: ["g", "x"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const r = draw(24, 4);
    assertNear(await lrp(model, draw(24, 3), r), r, 0);
  });

  test("division by a computed norm: the divisor is a weight, the dividend keeps R", async () => {
    const model = buildModel({
      inputs: [{ name: "x", dims: [5] }],
      constants: [{ name: "axes", dims: [1], data: [1], int64: true }],
      nodes: [
        { op: "Mul", inputs: ["x", "x"], outputs: ["sq"] },
        { op: "ReduceSum", inputs: ["sq", "axes"], outputs: ["ss"] },
        { op: "Sqrt", inputs: ["ss"], outputs: ["n"] },
        { op: "Div", inputs: ["x", "n"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const r = draw(10, 6);
    assertNear(await lrp(model, draw(10, 5), r), r, 0);
  });

  test("AH-rule: Softmax(x x^T) x sends R_x = x * A^T (R / (A x)) through the values only", async () => {
    const [t, d] = [3, 2];
    const model = buildModel({
      inputs: [{ name: "x", dims: [t, d] }],
      nodes: [
        { op: "Transpose", inputs: ["x"], outputs: ["xt"], attrs: { perm: [0, 2, 1] } },
        { op: "MatMul", inputs: ["x", "xt"], outputs: ["s"] },
        { op: "Softmax", inputs: ["s"], outputs: ["a"], attrs: { axis: -1 } },
        { op: "MatMul", inputs: ["a", "x"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const x = draw(2 * t * d, 7);
    const r = draw(2 * t * d, 8);
    const expected = new Float64Array(x.length);
    for (let n = 0; n < 2; n++) {
      const at = (i: number, c: number) => x[n * t * d + i * d + c]!;
      const a = Array.from({ length: t }, (_, i) => {
        const s = Array.from({ length: t }, (_, j) =>
          Array.from({ length: d }, (_, c) => at(i, c) * at(j, c)).reduce((p, q) => p + q),
        );
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((p, q) => p + q);
        return e.map((v) => v / z);
      });
      for (let i = 0; i < t; i++) {
        for (let c = 0; c < d; c++) {
          const y = Array.from({ length: t }, (_, j) => a[i]![j]! * at(j, c)).reduce(
            (p, q) => p + q,
          );
          const share = r[n * t * d + i * d + c]! / y;
          for (let j = 0; j < t; j++) expected[n * t * d + j * d + c]! += a[i]![j]! * share;
        }
      }
      for (let j = 0; j < t * d; j++) expected[n * t * d + j]! *= x[n * t * d + j]!;
    }
    assertNear(await lrp(model, x, r), expected, 1e-4);
  });

  test("relevance asked for at the gate, which gets none, is zero", async () => {
    const model = buildModel({
      inputs: [{ name: "x", dims: [3] }],
      nodes: [
        { op: "Sigmoid", inputs: ["x"], outputs: ["g"] },
        { op: "Mul", inputs: ["x", "g"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    const engine = new Engine();
    try {
      const shapes = await inferShapes(model, engine, { name: "x", dims: [1, 3] });
      const ruleSet = lrpRuleSet(model, uniformComposite({ rule: "epsilon" }));
      const compiled = compileBackward(model, shapes, { wrt: ["x", "g"], ruleSet });
      const session = await engine.session(compiled.model);
      const r = draw(6, 10);
      const out = await session.run({
        x: new Tensor("float32", draw(6, 9), [2, 3]),
        [compiled.seed]: new Tensor("float32", r, [2, 3]),
      });
      assertNear(out[compiled.grads.get("x")!]!.data as Float32Array, r, 0);
      assert.deepEqual(
        [...(out[compiled.grads.get("g")!]!.data as Float32Array)],
        [0, 0, 0, 0, 0, 0],
      );
    } finally {
      await engine.dispose();
    }
  });

  test("a product of two activations without a recognisable gate is an error naming the node", async () => {
    const model = buildModel({
      inputs: [{ name: "x", dims: [4] }],
      nodes: [
        { op: "Relu", inputs: ["x"], outputs: ["a"] },
        { op: "Mul", inputs: ["x", "a"], outputs: ["y"] },
      ],
      outputs: ["y"],
    });
    await assert.rejects(lrp(model, draw(4, 1), draw(4, 2)), (e: unknown) => {
      assert.ok(e instanceof CamscopeError);
      assert.match(
        e.message,
        /^The LRP \([^)]*\) cannot pass op "Mul" \(node "Mul_1"\) of model "test-graph": LRP cannot tell the gate from the signal/,
      );
      return true;
    });
  });

  test("dividing a constant by an activation is an error naming the node", async () => {
    const model = buildModel({
      inputs: [{ name: "x", dims: [4] }],
      constants: [{ name: "one", dims: [], data: [1] }],
      nodes: [{ op: "Div", inputs: ["one", "x"], outputs: ["y"] }],
      outputs: ["y"],
    });
    await assert.rejects(
      lrp(model, draw(4, 1), draw(4, 2)),
      /op "Div" \(node "Div_0"\) of model "test-graph": it divides a constant by an activation/,
    );
  });
});
