import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { singleOp } from "../testing/graph.ts";

// Elementwise and smooth: per unit of cotangent the central difference errs by eps^2/6 |f'''|
// (truncation; |gelu'''| <= 1.3 for both forms on this range, 2e-6 at eps = 1/128) plus about
// 2^-24 |f| / eps (float32 rounding, ~2e-6 for |f| <= 3). With cotangents up to ~2.5 that is about
// 1e-5 relative to gradients of order 1; 1e-4 leaves a margin, and the tanh form's derivative
// differs from the exact one's by up to ~2e-2, so each mode's rule is told apart from the other's.
const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => 2 * v);

for (const opset of [20, 21]) {
  for (const approximate of ["none", "tanh"]) {
    test(`Gelu (approximate ${approximate}) gradient matches finite differences (opset ${opset})`, async (t) => {
      const model = singleOp("Gelu", [3, 4, 4], { approximate }, [], opset);
      await assertGradients(t, model, 1e-4, { eps: 1 / 128, data: { x } });
    });
  }
}
