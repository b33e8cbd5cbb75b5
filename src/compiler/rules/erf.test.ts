import { test } from "node:test";
import { assertGradients } from "../testing/assertions.ts";
import { spacedValues } from "../testing/finite-difference.ts";
import { singleOp } from "../testing/graph.ts";

test("Erf gradient matches finite differences (x in [-3.1, 3.1])", async (t) => {
  // Elementwise and smooth: per unit of cotangent the central difference errs by at most
  // eps^2/6 max|erf'''| = eps^2/6 * 4/sqrt(pi) = 2.3e-5 (truncation, eps = 1/128) plus about
  // 2^-24 / eps = 7.6e-6 (float32 rounding of the two outputs): with cotangents up to ~2.5 and
  // gradients up to ~2, at most ~4e-5 relative.
  const x = Float32Array.from(spacedValues(2 * 48, 1), (v) => 2 * v);
  await assertGradients(t, singleOp("Erf", [3, 4, 4]), 1e-4, { eps: 1 / 128, data: { x } });
});
