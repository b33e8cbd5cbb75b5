import assert from "node:assert/strict";
import { test } from "node:test";
import { CamscopeError } from "../../errors.ts";
import { createRng } from "../../util/random.ts";
import { vjpAt } from "../testing/assertions.ts";
import { buildModel } from "../testing/graph.ts";
import {
  COMPOSITES,
  lrpRuleSet,
  parseRule,
  resolveComposite,
  uniformComposite,
} from "./composites.ts";

test("rules are read from text with their parameters", () => {
  assert.deepEqual(parseRule("epsilon"), { rule: "epsilon" });
  assert.deepEqual(parseRule("epsilon:0.25"), { rule: "epsilon", epsilon: 0.25 });
  assert.deepEqual(parseRule("gamma:0.5"), { rule: "gamma", gamma: 0.5 });
  assert.deepEqual(parseRule("alphabeta"), { rule: "alphabeta", alpha: 2, beta: 1 });
  assert.deepEqual(parseRule("alphabeta:1,0"), { rule: "alphabeta", alpha: 1, beta: 0 });
  assert.throws(() => parseRule("alphabeta:2,2"), /alpha - beta = 1/);
  assert.throws(() => parseRule("zplus:3"), CamscopeError);
  assert.throws(() => parseRule("epsilon:x"), CamscopeError);
});

test("composites resolve by name, a rule name gives a uniform composite, others list the valid names", () => {
  assert.equal(resolveComposite("epsilon-plus"), COMPOSITES["epsilon-plus"]);
  assert.deepEqual(resolveComposite("gamma:0.1").conv, { rule: "gamma", gamma: 0.1 });
  assert.throws(() => resolveComposite("epsilon-plux"), /epsilon-gamma-box.*zplus/s);
});

// x -> Conv (first) -> Relu -> Conv -> Flatten -> Gemm: one layer of each position and op class.
function network() {
  const rng = createRng(3);
  const w = (n: number) => Array.from({ length: n }, () => rng.normal() * 0.5);
  return buildModel({
    inputs: [{ name: "x", dims: [2, 4, 4] }],
    constants: [
      { name: "w1", dims: [3, 2, 3, 3], data: w(54) },
      { name: "w2", dims: [3, 3, 3, 3], data: w(81) },
      { name: "w3", dims: [2, 48], data: w(96) },
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "w1"], outputs: ["c1"], attrs: { pads: [1, 1, 1, 1] } },
      { op: "Relu", inputs: ["c1"], outputs: ["r1"] },
      { op: "Conv", inputs: ["r1", "w2"], outputs: ["c2"], attrs: { pads: [1, 1, 1, 1] } },
      { op: "Flatten", inputs: ["c2"], outputs: ["f"] },
      { op: "Gemm", inputs: ["f", "w3"], outputs: ["y"], attrs: { transB: 1 } },
    ],
    outputs: ["y"],
  });
}

test("a per-layer rule overrides the composite's rule for that layer only", async () => {
  const model = network();
  const rng = createRng(4);
  const x = Float32Array.from({ length: 64 }, () => rng.normal());
  const r = Float32Array.from([1, 0, 0, 1]);
  const run = (c: Parameters<typeof lrpRuleSet>[1]) => vjpAt(model, x, r, lrpRuleSet(model, c));
  const base = await run(uniformComposite({ rule: "zplus" }));
  const byName = await run({
    ...uniformComposite({ rule: "zplus" }),
    layers: { c1: { rule: "flat" } },
  });
  const byFirst = await run({ ...uniformComposite({ rule: "zplus" }), first: { rule: "flat" } });
  assert.deepEqual(byName, byFirst, "c1 is the first linear layer");
  assert.notDeepEqual(byName, base);
  // flat at the input spreads each position's relevance evenly over the channels.
  for (let p = 0; p < 16; p++) assert.ok(Math.abs(byName[p]! - byName[16 + p]!) < 1e-6);
});

test("an unknown layer in a composite lists the linear layers", () => {
  assert.throws(
    () =>
      lrpRuleSet(network(), {
        ...uniformComposite({ rule: "zplus" }),
        layers: { c9: { rule: "flat" } },
      }),
    /"c9".*c1, c2, y/,
  );
});

test("zbox without input bounds is refused", () => {
  assert.throws(() => lrpRuleSet(network(), COMPOSITES["epsilon-gamma-box"]!), /value range/);
});
