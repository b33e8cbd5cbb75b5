import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { buildModel, singleOp } from "../testing/graph.ts";

// Pow is smooth where it is defined. x^2 is quadratic, so central differences are exact up to
// float32 rounding. For the other exponents the truncation error is eps^2/6 |f'''| per unit of
// cotangent; on x in [0.5, 2.1] (positive, so fractional powers and ln x exist) with eps = 1/128
// and exponents in [0, 3], |f'''| <= 6 and f' reaches ~13: truncation ~1e-5 and float32 rounding
// ~2^-24 |f| / eps ~ 1e-5, about 1e-5 relative. 1e-4 leaves a margin; a wrong exponent (e instead
// of e - 1, a missing factor e) errs by order 1.
const eps = 1 / 128;
const dims = [3, 4, 4];
const positive = Float32Array.from(spacedValues(2 * 48, 1), (v) => Math.abs(v) + 0.5);

for (const opset of [13, 17, 21]) {
  test(`Pow gradient matches finite differences: x^2, scalar constant (opset ${opset})`, async (t) => {
    const model = singleOp("Pow", dims, {}, [{ name: "e", dims: [], data: [2] }], opset);
    await assertGradients(t, model, 1e-4, { eps });
  });
}

test("Pow gradient matches finite differences: per-channel exponents 0.5, 3 and 0", async (t) => {
  // The exponent 0 channel has a zero gradient (not 0 * x^-1).
  const model = singleOp("Pow", dims, {}, [{ name: "e", dims: [3, 1, 1], data: [0.5, 3, 0] }]);
  await assertGradients(t, model, 1e-4, { eps, data: { x: positive } });
});

test("Pow gradient matches finite differences: int64 exponent -1, negative bases", async (t) => {
  // |x| in [1 + 1/16, 2.6]: |f'''| = 6 / x^4 <= 4.4 against max |f'| = 0.9, and eps = 1/256 keeps
  // truncation (~1e-5) and rounding (~1.5e-5 relative) well under the bound.
  const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => v + Math.sign(v));
  const model = singleOp("Pow", dims, {}, [{ name: "e", dims: [1], data: [-1], int64: true }]);
  await assertGradients(t, model, 1e-4, { eps: 1 / 256, data: { x } });
});

test("Pow gradient matches finite differences: exponent computed at run time", async (t) => {
  // e = 1.5 + 1 is no initializer: the rule reads it at run time.
  const model = buildModel({
    inputs: [{ name: "x", dims }],
    constants: [
      { name: "a", dims: [], data: [1.5] },
      { name: "one", dims: [], data: [1] },
    ],
    nodes: [
      { op: "Add", inputs: ["a", "one"], outputs: ["e"] },
      { op: "Pow", inputs: ["x", "e"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });
  await assertGradients(t, model, 1e-4, { eps, data: { x: positive } });
});

test("Pow gradient matches finite differences: base and broadcast exponent both activations", async (t) => {
  // x [N, 3, 4, 4] ^ e [N, 3, 1, 1]: e's gradient is y ln x summed over space.
  const model = buildModel({
    inputs: [
      { name: "x", dims },
      { name: "e", dims: [3, 1, 1] },
    ],
    nodes: [{ op: "Pow", inputs: ["x", "e"], outputs: ["y"] }],
    outputs: ["y"],
  });
  // Exponents in [0.375, 1.625], where the truncation error stays near 1e-5 (see above).
  const e = Float32Array.from(spacedValues(2 * 3, 2), (v) => 1 + 4 * v);
  await assertGradients(t, model, 1e-4, { eps, data: { x: positive, e } });
});
