import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { compileBackward } from "./compile.ts";
import { extendRuleSet, type RuleSet } from "./rule.ts";
import { guidedBackprop } from "./rules/guided.ts";
import { exactGradient } from "./rules/index.ts";
import { buildModel } from "./testing/graph.ts";
import { inferShapes } from "../engine/probe.ts";

// x -> Relu -> Selu (no rule) -> y: every method stops at the Selu node.
const model = buildModel({
  inputs: [{ name: "x", dims: [4] }],
  nodes: [
    { op: "Relu", inputs: ["x"], outputs: ["r"] },
    { op: "Selu", inputs: ["r"], outputs: ["y"] },
  ],
  outputs: ["y"],
});

async function compileError(ruleSet: RuleSet): Promise<string> {
  const engine = new Engine();
  try {
    const shapes = await inferShapes(model, engine, { name: "x", dims: [1, 4] });
    try {
      compileBackward(model, shapes, { wrt: ["x"], ruleSet });
    } catch (e) {
      assert.equal((e as Error & { code?: string }).code, "UNSUPPORTED_OP");
      return (e as Error).message;
    }
    throw new Error("compiled");
  } finally {
    await engine.dispose();
  }
}

test("a node no rule covers is one line naming the method, op, node and model, and what to do", async () => {
  for (const [ruleSet, method] of [
    [exactGradient, "gradient"],
    [guidedBackprop, "guided backprop signal"],
  ] as const) {
    const message = await compileError(ruleSet);
    assert.equal(
      message,
      `The ${method} cannot pass op "Selu" (node "Selu_1") of model "test-graph": camscope has no rule ` +
        "for Selu; explain a layer after that node, or use a method that does not back-propagate " +
        "(eigencam, scorecam, ablationcam)",
    );
  }
});

test("a rule set's internal name (a cache key with a hash) never reaches the message", async () => {
  const keyed = extendRuleSet(
    exactGradient,
    "LRP custom #0badcafe",
    [],
    undefined,
    "LRP composite custom",
  );
  const message = await compileError(keyed);
  assert.match(message, /^The LRP composite custom cannot pass op "Selu" \(node "Selu_1"\)/);
  assert.doesNotMatch(message, /#|0badcafe|\n/);
});
