import assert from "node:assert/strict";
import { test } from "node:test";
import { classProbabilities } from "./targets.ts";

test("classProbabilities: the softmax is stable for large logits", () => {
  const p = classProbabilities([1000, 1000, 0]);
  assert.ok(Math.abs(p[0]! - 0.5) < 1e-12 && Math.abs(p[1]! - 0.5) < 1e-12 && p[2]! < 1e-300);
});
