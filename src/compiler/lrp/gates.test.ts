import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildModel, type GraphSpec } from "../testing/graph.ts";
import { GateFinder } from "./gates.ts";

/** The gate decision for the graph's last node (a product of two activations). */
function decide(spec: Omit<GraphSpec, "outputs">) {
  const model = buildModel({ ...spec, outputs: [spec.nodes.at(-1)!.outputs[0]!] });
  return new GateFinder(model).gateOf(model.graph.node.at(-1)!);
}

function gateOfLast(spec: Omit<GraphSpec, "outputs">): 0 | 1 {
  const decision = decide(spec);
  assert.ok("gate" in decision, "why" in decision ? decision.why : "");
  return decision.gate;
}

const scalar = (name: string, v: number) => ({ name, dims: [], data: [v] });

describe("the gate of a product is found from the graph", () => {
  test("SiLU: x * Sigmoid(x)", () => {
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [4] }],
      nodes: [
        { op: "Sigmoid", inputs: ["x"], outputs: ["g"] },
        { op: "Mul", inputs: ["x", "g"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 1);
  });

  test("squeeze-excitation: HardSigmoid(Conv(GlobalAveragePool(x))) * x, gate first", () => {
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [2, 3, 3] }],
      constants: [{ name: "w", dims: [2, 2, 1, 1], data: [1, 0, 0, 1] }],
      nodes: [
        { op: "GlobalAveragePool", inputs: ["x"], outputs: ["p"] },
        { op: "Conv", inputs: ["p", "w"], outputs: ["c"] },
        { op: "HardSigmoid", inputs: ["c"], outputs: ["g"] },
        { op: "Mul", inputs: ["g", "x"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 0);
  });

  test("decomposed HardSwish: x * Clip(x + 3, 0, 6), the gate traced through the shift", () => {
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [4] }],
      constants: [scalar("three", 3), scalar("zero", 0), scalar("six", 6)],
      nodes: [
        { op: "Add", inputs: ["x", "three"], outputs: ["s"] },
        { op: "Clip", inputs: ["s", "zero", "six"], outputs: ["g"] },
        { op: "Mul", inputs: ["x", "g"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 1);
  });

  test("HardSigmoid written out: Clip(x / 6 + 0.5, 0, 1) scaled by a constant, then reshaped", () => {
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [4] }],
      constants: [scalar("six", 6), scalar("half", 0.5), scalar("zero", 0), scalar("one", 1)],
      nodes: [
        { op: "Div", inputs: ["x", "six"], outputs: ["d"] },
        { op: "Add", inputs: ["d", "half"], outputs: ["s"] },
        { op: "Clip", inputs: ["s", "zero", "one"], outputs: ["c"] },
        { op: "Mul", inputs: ["c", "one"], outputs: ["g"] },
        { op: "Identity", inputs: ["g"], outputs: ["gi"] },
        { op: "Mul", inputs: ["gi", "x"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 0);
  });

  test("GELU as exported: x * (Erf(x / sqrt 2) + 1)", () => {
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [4] }],
      constants: [scalar("r2", Math.SQRT2), scalar("one", 1)],
      nodes: [
        { op: "Div", inputs: ["x", "r2"], outputs: ["d"] },
        { op: "Erf", inputs: ["d"], outputs: ["e"] },
        { op: "Add", inputs: ["e", "one"], outputs: ["g"] },
        { op: "Mul", inputs: ["x", "g"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 1);
  });

  test("attention: Softmax(q k^T) times the values", () => {
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [3, 2] }],
      nodes: [
        { op: "Transpose", inputs: ["x"], outputs: ["t"], attrs: { perm: [0, 2, 1] } },
        { op: "MatMul", inputs: ["x", "t"], outputs: ["s"] },
        { op: "Softmax", inputs: ["s"], outputs: ["a"], attrs: { axis: -1 } },
        { op: "MatMul", inputs: ["a", "x"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 0);
  });

  test("both operands from gate ops: the one computed from the other is the gate", () => {
    // ReLU6(x) * HardSwish-style Clip(ReLU6(x) + 3, 0, 6).
    const gate = gateOfLast({
      inputs: [{ name: "x", dims: [4] }],
      constants: [scalar("three", 3), scalar("zero", 0), scalar("six", 6)],
      nodes: [
        { op: "Clip", inputs: ["x", "zero", "six"], outputs: ["a"] },
        { op: "Add", inputs: ["a", "three"], outputs: ["s"] },
        { op: "Clip", inputs: ["s", "zero", "six"], outputs: ["g"] },
        { op: "Mul", inputs: ["g", "a"], outputs: ["y"] },
      ],
    });
    assert.equal(gate, 0);
  });
});

describe("ambiguous products are refused with the reason", () => {
  const rejects = (spec: Omit<GraphSpec, "outputs">, pattern: RegExp) => {
    const decision = decide(spec);
    assert.ok("why" in decision, "a gate was chosen");
    assert.match(decision.why, pattern);
  };

  test("two activations, neither from a gate op", () => {
    rejects(
      {
        inputs: [{ name: "x", dims: [4] }],
        nodes: [
          { op: "Relu", inputs: ["x"], outputs: ["a"] },
          { op: "Tanh", inputs: ["x"], outputs: ["b"] },
          { op: "Mul", inputs: ["a", "b"], outputs: ["y"] },
        ],
      },
      /multiplies two activations, neither computed by a gate op/,
    );
  });

  test("two gates, neither computed from the other", () => {
    rejects(
      {
        inputs: [{ name: "x", dims: [4] }],
        nodes: [
          { op: "Sigmoid", inputs: ["x"], outputs: ["a"] },
          { op: "HardSigmoid", inputs: ["x"], outputs: ["b"] },
          { op: "Mul", inputs: ["a", "b"], outputs: ["y"] },
        ],
      },
      /both operands come from gate ops \(Sigmoid "Sigmoid_0", HardSigmoid "HardSigmoid_1"\)/,
    );
  });

  test("a one-sided Clip (a ramp, as ReLU) is no gate", () => {
    rejects(
      {
        inputs: [{ name: "x", dims: [4] }],
        constants: [scalar("zero", 0)],
        nodes: [
          { op: "Clip", inputs: ["x", "zero"], outputs: ["a"] },
          { op: "Mul", inputs: ["x", "a"], outputs: ["y"] },
        ],
      },
      /neither computed by a gate op/,
    );
  });

  test("a constant divided by a gate is no gate", () => {
    rejects(
      {
        inputs: [{ name: "x", dims: [4] }],
        constants: [scalar("one", 1)],
        nodes: [
          { op: "Sigmoid", inputs: ["x"], outputs: ["s"] },
          { op: "Div", inputs: ["one", "s"], outputs: ["g"] },
          { op: "Mul", inputs: ["x", "g"], outputs: ["y"] },
        ],
      },
      /neither computed by a gate op/,
    );
  });
});
