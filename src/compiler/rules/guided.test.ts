import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine, Tensor } from "../../engine/engine.ts";
import { compileBackward } from "../compile.ts";
import type { RuleSet } from "../rule.ts";
import { buildModel } from "../testing/graph.ts";
import { deconvnet, guidedBackprop } from "./guided.ts";
import { exactGradient } from "./index.ts";
import { inferShapes } from "../../engine/probe.ts";

// y = Relu(x) * 2 then Clip(0, 6): the ReLU-like ops are where the three rule sets differ.
const model = buildModel({
  inputs: [{ name: "x", dims: [6] }],
  constants: [
    { name: "two", dims: [], data: [2] },
    { name: "lo", dims: [], data: [0] },
    { name: "hi", dims: [], data: [6] },
  ],
  nodes: [
    { op: "Relu", inputs: ["x"], outputs: ["r"] },
    { op: "Mul", inputs: ["r", "two"], outputs: ["m"] },
    { op: "Clip", inputs: ["m", "lo", "hi"], outputs: ["y"] },
  ],
  outputs: ["y"],
});
const x = [-1, 0.5, 2, 4, -3, 1];
const seed = [1, -1, 1, 1, -2, -0.5];

async function signal(rules: RuleSet): Promise<number[]> {
  const engine = new Engine();
  try {
    const shapes = await inferShapes(model, engine, [{ name: "x", dims: [1, 6] }]);
    const c = compileBackward(model, shapes, { wrt: ["x"], output: "y", ruleSet: rules });
    const session = await engine.session(c.model);
    const out = await session.run({
      x: new Tensor("float32", Float32Array.from(x), [1, 6]),
      [c.seed]: new Tensor("float32", Float32Array.from(seed), [1, 6]),
    });
    // + 0 turns the -0 of masked negative signals into 0 for the comparison.
    return Array.from(out[c.grads.get("x")!]!.data as Float32Array, (v) => v + 0);
  } finally {
    await engine.dispose();
  }
}

// m = 2 relu(x) = [0, 1, 4, 8, 0, 2]: Clip passes where 0 < m < 6, i.e. elements 1, 2, 5.
test("exact gradient masks by the forward activations", async () => {
  assert.deepEqual(await signal(exactGradient), [0, -2, 2, 0, 0, -1]);
});

test("guided backprop also drops negative signals at every ReLU-like op", async () => {
  // Element 1: the seed -1 is clipped to 0 at Clip; element 5: -0.5 likewise.
  assert.deepEqual(await signal(guidedBackprop), [0, 0, 2, 0, 0, 0]);
});

test("deconvnet passes positive signals regardless of the forward activations", async () => {
  // relu(seed) at Clip = [1,0,1,1,0,0]; times 2 at Mul; relu again at Relu.
  assert.deepEqual(await signal(deconvnet), [2, 0, 2, 2, 0, 0]);
});
