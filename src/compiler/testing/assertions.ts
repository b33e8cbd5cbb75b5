// Test assertions on compiled gradients: finite-difference agreement (reported as test
// diagnostics), and the compiled vector-Jacobian product at chosen inputs, for comparisons with
// hand-computed gradients at kinks, where finite differences say nothing.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { Engine, Tensor } from "../../engine/engine.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { compileBackward } from "../compile.ts";
import type { RuleSet } from "../rule.ts";
import { exactGradient } from "../rules/index.ts";
import { checkGradients, type FdOptions } from "./finite-difference.ts";
import { sizeOf } from "../../tensor/tensor.ts";
import { inferShapes } from "../../engine/probe.ts";

/** Asserts that every input's gradient is nonzero and within `maxError` (relative) of finite differences. */
export async function assertGradients(
  t: TestContext,
  model: OnnxModel,
  maxError: number,
  options: FdOptions = {},
): Promise<void> {
  for (const r of await checkGradients(model, options)) {
    t.diagnostic(
      `${r.input}: relative error ${r.relativeError.toExponential(2)} (max |grad| ${r.maxNumeric.toFixed(3)})`,
    );
    assert.ok(r.maxNumeric > 0, `gradient of ${r.input} is zero`);
    assert.ok(
      r.relativeError < maxError,
      `${r.input}: relative error ${r.relativeError} >= ${maxError}`,
    );
  }
}

/**
 * The gradient of seed . y at x for a one-input graph (batch: x's length over one sample's size);
 * seed default: ones. Another rule set (e.g. LRP) sends its own signal back instead.
 */
export async function vjpAt(
  model: OnnxModel,
  x: Float32Array,
  seed?: Float32Array,
  ruleSet: RuleSet = exactGradient,
): Promise<Float32Array> {
  const engine = new Engine();
  try {
    const input = model.inputs()[0]!;
    const dims = [
      1,
      ...(input.type?.tensor_type?.shape?.dim ?? []).slice(1).map((d) => d.dim_value ?? 1),
    ];
    const shapes = await inferShapes(model, engine, { name: input.name, dims });
    const compiled = compileBackward(model, shapes, { wrt: [input.name], ruleSet });
    const batch = x.length / sizeOf(dims);
    const seedDims = [batch, ...compiled.outputDims.slice(1)];
    const session = await engine.session(compiled.model);
    const results = await session.run({
      [input.name]: new Tensor("float32", x, [batch, ...dims.slice(1)]),
      [compiled.seed]: new Tensor(
        "float32",
        seed ?? new Float32Array(sizeOf(seedDims)).fill(1),
        seedDims,
      ),
    });
    return results[compiled.grads.get(input.name)!]!.data as Float32Array;
  } finally {
    await engine.dispose();
  }
}
