// Finite-difference checks of compiled backward graphs: for a random cotangent v, the compiled
// vector-Jacobian product must equal the central difference of v . f(x) at every input element.
import { Engine, Tensor, type OrtTensor } from "../../engine/engine.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { createRng } from "../../util/random.ts";
import { compileBackward } from "../compile.ts";
import { exactGradient } from "../rules/index.ts";
import type { RuleSet } from "../rule.ts";
import { sizeOf } from "../../tensor/tensor.ts";
import { inferShapes } from "../../engine/probe.ts";

export interface FdOptions {
  batch?: number;
  eps?: number;
  seed?: number;
  ruleSet?: RuleSet;
  /** Input values per graph input, batch included; default: random, away from kinks and ties. */
  data?: Record<string, Float32Array>;
}

export interface FdResult {
  input: string;
  /** max |analytic - numeric| / max |numeric| over the input's elements. */
  relativeError: number;
  maxNumeric: number;
}

/**
 * Distinct values spaced 1/64 apart with |v| >= 1/16, in random order: ReLU inputs stay off the
 * kink and max-pool windows have no ties, so central differences with eps < 1/128 are exact for
 * piecewise-linear ops up to float rounding.
 */
export function spacedValues(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const values = Array.from({ length: n }, (_, i) => ((4 + i) / 64) * (i % 2 === 0 ? 1 : -1));
  rng.shuffle(values);
  return Float32Array.from(values);
}

export async function checkGradients(
  model: OnnxModel,
  options: FdOptions = {},
): Promise<FdResult[]> {
  const { batch = 2, eps = 1 / 256, seed = 1, ruleSet = exactGradient } = options;
  const engine = new Engine();
  try {
    const inputs = model.inputs().map((v) => ({
      name: v.name,
      dims: [1, ...(v.type?.tensor_type?.shape?.dim ?? []).slice(1).map((d) => d.dim_value ?? 1)],
    }));
    const shapes = await inferShapes(model, engine, inputs);
    const output = model.outputs()[0]!.name;
    const compiled = compileBackward(model, shapes, {
      wrt: inputs.map((i) => i.name),
      output,
      ruleSet,
    });
    const rng = createRng(seed + 1000);
    const data: Record<string, Float32Array> = {};
    inputs.forEach((inp, k) => {
      data[inp.name] = options.data?.[inp.name] ?? spacedValues(batch * sizeOf(inp.dims), seed + k);
    });
    const outPer = sizeOf(compiled.outputDims);
    const v = Float32Array.from({ length: batch * outPer }, () => rng.normal());
    const feeds: Record<string, OrtTensor> = {};
    for (const inp of inputs)
      feeds[inp.name] = new Tensor("float32", data[inp.name]!, [batch, ...inp.dims.slice(1)]);
    feeds[compiled.seed] = new Tensor("float32", v, [batch, ...compiled.outputDims.slice(1)]);
    const analytic = await (await engine.session(compiled.model)).run(feeds);

    // Numeric: every element of every input perturbed by +-eps, all perturbations in one batch.
    const forward = await engine.session(model);
    const results: FdResult[] = [];
    for (const inp of inputs) {
      const per = sizeOf(inp.dims);
      const total = batch * per;
      const runs = 2 * total;
      const batchFeeds: Record<string, OrtTensor> = {};
      for (const other of inputs) {
        const otherPer = sizeOf(other.dims);
        const src = data[other.name]!;
        const buf = new Float32Array(runs * otherPer);
        for (let r = 0; r < runs; r++) {
          const element = r >> 1;
          const sample = Math.floor(element / per);
          buf.set(src.subarray(sample * otherPer, (sample + 1) * otherPer), r * otherPer);
          if (other.name === inp.name)
            buf[r * otherPer + (element % per)]! += r % 2 === 0 ? eps : -eps;
        }
        batchFeeds[other.name] = new Tensor("float32", buf, [runs, ...other.dims.slice(1)]);
      }
      const out = (await forward.run(batchFeeds, [output]))[output]!.data as Float32Array;
      const grad = analytic[compiled.grads.get(inp.name)!]!.data as Float32Array;
      let maxErr = 0;
      let maxNumeric = 0;
      for (let e = 0; e < total; e++) {
        const sample = Math.floor(e / per);
        let dot = 0;
        for (let o = 0; o < outPer; o++) {
          const vo = v[sample * outPer + o]!;
          dot += vo * (out[2 * e * outPer + o]! - out[(2 * e + 1) * outPer + o]!);
        }
        const numeric = dot / (2 * eps);
        maxNumeric = Math.max(maxNumeric, Math.abs(numeric));
        maxErr = Math.max(maxErr, Math.abs(numeric - grad[e]!));
      }
      results.push({
        input: inp.name,
        relativeError: maxErr / Math.max(maxNumeric, 1e-12),
        maxNumeric,
      });
    }
    return results;
  } finally {
    await engine.dispose();
  }
}
