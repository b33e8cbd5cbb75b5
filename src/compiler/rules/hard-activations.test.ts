import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttrValue } from "../../onnx/attributes.ts";
import { assertGradients, vjpAt } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { singleOp } from "../testing/graph.ts";

// Inputs spread over about [-7, 7], multiples of 4.5/64 that stay at least 1/128 away from every
// kink used here (+-2.5, +-3, -1.6, 2.4), so with eps = 1/256 no difference straddles a kink.
// HardSigmoid is piecewise linear and HardSwish piecewise quadratic, for which central differences
// are exact: only float32 rounding remains, relative error well under 1e-4.
const dims = [3, 4, 4];
const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => 4.5 * v);

const attrSets: Record<string, AttrValue>[] = [
  {},
  { alpha: { float: 1 / 6 }, beta: { float: 0.5 } },
  { alpha: { float: 0.25 }, beta: { float: 0.4 } },
];
for (const attrs of attrSets) {
  test(`HardSigmoid gradient matches finite differences: ${JSON.stringify(attrs)}`, async (t) => {
    await assertGradients(t, singleOp("HardSigmoid", dims, attrs), 1e-4, { data: { x } });
  });
}

test("HardSwish gradient matches finite differences", async (t) => {
  await assertGradients(t, singleOp("HardSwish", dims, {}, [], 14), 1e-4, { data: { x } });
});

function assertClose(actual: Float32Array, expected: number[]): void {
  expected.forEach((e, i) =>
    assert.ok(Math.abs(actual[i]! - e) < 1e-6, `element ${i}: ${actual[i]} vs ${e}`),
  );
}

test("HardSigmoid passes nothing at the ends of its ramp, as PyTorch's hardsigmoid does", async () => {
  const grad = await vjpAt(
    singleOp("HardSigmoid", [6], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }),
    Float32Array.from([-4, -3, 0, 1.5, 3, 4]),
  );
  assertClose(grad, [0, 0, 1 / 6, 1 / 6, 0, 0]);
});

test("HardSwish gradient is x/3 + 1/2 on the closed interval [-3, 3], as PyTorch's hardswish", async () => {
  const grad = await vjpAt(
    singleOp("HardSwish", [7], {}, [], 14),
    Float32Array.from([-4, -3, -1.5, 0, 1.5, 3, 4]),
  );
  assertClose(grad, [0, -0.5, 0, 0.5, 1, 1.5, 1]);
});
