// Running compiled backward graphs: compiles once per (wrt, output, rule set), keeps the ONNX
// Runtime session in the engine's cache (under the compiled model), and runs whole batches
// (chunked by the engine). A model runtime owns one per model it differentiates.
import { CamscopeError } from "../errors.ts";
import { Tensor, type Engine, type OrtTensor, type Results } from "../engine/engine.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { compileBackward, type BackwardSpec, type CompiledBackward } from "../compiler/compile.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { DerivedCache, derivedKey } from "./cache.ts";
import { CHOSEN_OUTPUT, CLASSES_INPUT, withSeedHead, type SeedHead } from "./seed-head.ts";

/** What a {@link Backward.run} returns. */
export interface BackwardResult {
  /** The output the pass started from (e.g. the logits), [N, ...]. */
  output: FloatTensor;
  /** The requested activations (wrt values that are not the model input). */
  activations: Map<string, FloatTensor>;
  /** The signal (gradient, or relevance for LRP rule sets) at each wrt value. */
  grads: Map<string, FloatTensor>;
}

/** What a {@link Backward.runChoosing} returns: the run, the logits and the classes chosen. */
export interface ChosenBackwardResult extends BackwardResult {
  /** The logits the classes were chosen from, [N, units]. */
  logits: FloatTensor;
  /** The class each row's seed started from. */
  chosen: number[];
}

function floatTensor(t: OrtTensor): FloatTensor {
  return { data: t.data as Float32Array, dims: [...t.dims] };
}

/**
 * Runs compiled backward graphs: compiles a model once per (wrt values, output, rule set), keeps
 * the ONNX Runtime session in the engine's cache, and runs whole batches.
 */
export class Backward {
  private readonly compiled = new DerivedCache();
  /** The engine that runs the compiled models. */
  readonly engine: Engine;
  /** The model to differentiate. */
  readonly model: OnnxModel;
  /** Dims (batch 1) of its values, from {@link inferShapes}. */
  readonly shapes: ReadonlyMap<string, number[]>;
  /** The model's image input. */
  readonly inputName: string;

  constructor(
    engine: Engine,
    model: OnnxModel,
    shapes: ReadonlyMap<string, number[]>,
    inputName: string,
  ) {
    this.engine = engine;
    this.model = model;
    this.shapes = shapes;
    this.inputName = inputName;
  }

  /** The compiled model for a spec (compiled once). */
  compile(spec: BackwardSpec): CompiledBackward {
    return this.compiled.get(
      derivedKey("backward", [...spec.wrt], spec.output ?? "", spec.ruleSet.name),
      () => compileBackward(this.model, this.shapes, spec),
    );
  }

  /**
   * One batched run: `input` is the preprocessed batch, `seed` the cotangent of the output per
   * sample ([N, ...output dims], e.g. a one-hot row per image for a class logit).
   */
  async run(spec: BackwardSpec, input: FloatTensor, seed: Float32Array): Promise<BackwardResult> {
    const compiled = this.compile(spec);
    const n = input.dims[0]!;
    const seedDims = [n, ...compiled.outputDims.slice(1)];
    if (seed.length !== seedDims.reduce((a, b) => a * b, 1)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Seed has ${seed.length} values; expected dims ${JSON.stringify(seedDims)} for output "${compiled.output}"`,
      );
    }
    const session = await this.engine.session(compiled.model);
    const results = await session.runBatched(
      {
        [this.inputName]: new Tensor("float32", input.data, input.dims),
        [compiled.seed]: new Tensor("float32", seed, seedDims),
      },
      resultNames(compiled),
    );
    return backwardResult(compiled, results);
  }

  /**
   * One batched run that picks its own seed (seed-head.ts): row i starts from class
   * `classes[i]`, or from its top class by the `head.logits` of the same run where that is -1.
   * Also returns the logits and the classes chosen.
   */
  async runChoosing(
    spec: BackwardSpec,
    input: FloatTensor,
    classes: readonly number[],
    head: SeedHead,
  ): Promise<ChosenBackwardResult> {
    const compiled = this.compile(spec);
    const model = this.compiled.get(
      derivedKey("seed-head", [...spec.wrt], spec.output ?? "", spec.ruleSet.name, head),
      () => withSeedHead(compiled, head),
    );
    const session = await this.engine.session(model);
    const n = input.dims[0]!;
    const logits = head.logits === compiled.output ? [] : [head.logits];
    const results = await session.runBatched(
      {
        [this.inputName]: new Tensor("float32", input.data, input.dims),
        [CLASSES_INPUT]: new Tensor("int64", BigInt64Array.from(classes, BigInt), [n, 1]),
      },
      [...resultNames(compiled), ...logits, CHOSEN_OUTPUT],
    );
    return {
      ...backwardResult(compiled, results),
      logits: floatTensor(results[head.logits]!),
      chosen: Array.from(results[CHOSEN_OUTPUT]!.data as BigInt64Array, Number),
    };
  }
}

/** The outputs a compiled run returns: the output, the activations, the signals. */
function resultNames(compiled: CompiledBackward): string[] {
  return [compiled.output, ...compiled.activations, ...compiled.grads.values()];
}

function backwardResult(compiled: CompiledBackward, results: Results): BackwardResult {
  return {
    output: floatTensor(results[compiled.output]!),
    activations: new Map(compiled.activations.map((a) => [a, floatTensor(results[a]!)])),
    grads: new Map([...compiled.grads].map(([w, name]) => [w, floatTensor(results[name]!)])),
  };
}

/** One-hot seed rows: 1 at `classes[i]` in row i of an [N, numClasses] seed. */
export function oneHotSeed(classes: readonly number[], numClasses: number): Float32Array {
  const seed = new Float32Array(classes.length * numClasses);
  classes.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Class index ${c} is outside 0..${numClasses - 1}`,
      );
    }
    seed[i * numClasses + c] = 1;
  });
  return seed;
}
