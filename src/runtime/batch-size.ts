// The default number of inputs per session run (the steps, samples, masks and windows of
// Integrated Gradients, SmoothGrad, RISE, occlusion, Score-CAM, ...) for a model: the largest
// chunk whose estimated memory fits a budget, capped where measured throughput stops improving
// (bench/batch-size.ts measured both). The one place that decides it: the model runtime asks it
// whenever the caller gives no batch size.
import type { ValueShapes } from "../onnx/value-shapes.ts";
import { sizeOf } from "../tensor/tensor.ts";
import { checkInteger, checkNumber } from "../util/validate.ts";

/**
 * Memory one chunk's run may take by default, in MiB: enough for the capped chunk of every model
 * measured (ResNet-50: 4 x 127 MiB estimated, 178 MiB measured), small beside the few GiB of a
 * machine that runs several explanations at once.
 */
export const DEFAULT_BATCH_MEMORY_MIB = 512;

/** The largest memory budget accepted, in MiB (1 TiB): beyond it a budget is surely a typo. */
export const MAX_MEMORY_BUDGET_MIB = 1024 * 1024;

/**
 * The largest default chunk. Measured on 2 CPU cores (bench:batch-size, docs/methods.md#batching),
 * time per input stops improving at 2 to 4 inputs per run for ResNet-18, ResNet-50, MobileNetV2
 * and synth-resnet, and gradient runs get slower beyond (8 inputs: 0% to +14% over 4; 32: +17%
 * to +41%).
 */
export const MAX_DEFAULT_BATCH = 4;

/**
 * Memory of a gradient run to the input per input, as a multiple of the forward pass's float
 * values per input. The peak resident memory a gradient run added was measured at about 0.4x
 * (ResNet-50) to 1.17x (ResNet-18) of those values: 1.25 bounds every measurement. Forward runs
 * took less.
 */
export const GRADIENT_MEMORY_FACTOR = 1.25;

const MIB = 1024 * 1024;

/** How the inputs of one explanation are chunked into session runs. */
export interface BatchPlan {
  /** Inputs per session run. */
  size: number;
  /** Estimated memory of one run of `size` inputs (a gradient run to the input), in MiB. */
  memoryMiB: number;
  /** Estimated memory per input, in MiB. */
  perInputMiB: number;
  /** Whether `size` was chosen by the rule (false: the caller gave it). */
  automatic: boolean;
}

/** Options of {@link planBatch}. */
export interface BatchPlanOptions {
  /** Inputs per run given by the caller: used as is (it wins over the rule). */
  batchSize?: number;
  /** Memory budget of one run in MiB. Default {@link DEFAULT_BATCH_MEMORY_MIB}. */
  memoryBudgetMiB?: number;
}

/**
 * Bytes of the float values of one forward pass per input: the values whose size grows with the
 * batch (where the probe could tell; else every value, whose size at batch 1 is then per input).
 */
export function activationBytesPerInput(shapes: ValueShapes): number {
  let elements = 0;
  const known = shapes.batchAxes.size > 0;
  for (const [name, dims] of shapes) {
    if (known && (shapes.batchAxes.get(name)?.length ?? 0) === 0) continue;
    elements += sizeOf(dims);
  }
  return 4 * elements;
}

/**
 * The chunk size for a model whose forward values take `bytesPerInput` per input: the caller's
 * `batchSize` if given, else the largest chunk whose gradient run (GRADIENT_MEMORY_FACTOR x the
 * forward values) fits the memory budget, at least 1 and at most MAX_DEFAULT_BATCH.
 */
export function planBatch(bytesPerInput: number, options: BatchPlanOptions = {}): BatchPlan {
  const budget = checkNumber(
    options.memoryBudgetMiB ?? DEFAULT_BATCH_MEMORY_MIB,
    "memoryBudgetMiB",
    {
      min: 0,
      minExclusive: true,
      max: MAX_MEMORY_BUDGET_MIB,
    },
  );
  checkNumber(bytesPerInput, "bytesPerInput", { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (options.batchSize !== undefined) checkInteger(options.batchSize, "batchSize", { min: 1 });
  const perInputMiB = (GRADIENT_MEMORY_FACTOR * bytesPerInput) / MIB;
  const fits = perInputMiB > 0 ? Math.floor(budget / perInputMiB) : MAX_DEFAULT_BATCH;
  const size = options.batchSize ?? Math.max(1, Math.min(MAX_DEFAULT_BATCH, fits));
  return {
    size,
    memoryMiB: size * perInputMiB,
    perInputMiB,
    automatic: options.batchSize === undefined,
  };
}
