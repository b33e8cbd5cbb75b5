// Layer-wise relevance propagation as a user-facing family API: picks the targets and propagates
// relevance through the model runtime (which owns the compiled relevance graphs and the model
// with BatchNorm folded), returning the relevance at the input and at any requested layers with
// the conservation totals that tell how much relevance each value holds.
import type { FloatTensor } from "../tensor/tensor.ts";
import type { RelevanceRequest, RelevanceRun } from "../runtime/relevance.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { TargetOptions, Targets } from "../runtime/targets.ts";
import type { OnnxModel } from "../onnx/model.ts";

/** Options of {@link RelevancePropagator.relevance}. */
export interface RelevanceOptions extends RelevanceRequest {
  /** Which classes to explain; default each image's top class. */
  target?: TargetOptions;
}

/** What {@link RelevancePropagator.relevance} returns. */
export interface RelevanceResult {
  /** The (image, class) pair each row explains. */
  targets: Targets;
  /** Logits of each target row, [N, units]. */
  logits: FloatTensor;
  /** The starting relevance, [N, units]. */
  start: Float32Array;
  /** Relevance at the model input [N, C, H, W] (absent when not requested). */
  input?: FloatTensor;
  /** Relevance at each requested layer, by layer name, and the layer's activations. */
  layers: Map<
    string,
    {
      /** Relevance at the layer, [N, ...]. */
      relevance: FloatTensor;
      /** The layer's activations, [N, ...]. */
      activations: FloatTensor;
    }
  >;
  /**
   * Conservation check: per row, the total relevance at the start, at the input and at each
   * layer. Conservative rules (z+, alpha-beta, flat, w-square, and epsilon without biases) keep
   * the start's total at every value up to what zero denominators and biases absorb.
   */
  totals: {
    /** Total starting relevance per row. */
    start: number[];
    /** Total relevance at the input per row. */
    input?: number[];
    /** Total relevance at each layer per row. */
    layers: Map<string, number[]>;
  };
}

/** Per row, the sum of a batch tensor's values (in float64). */
function rowTotals(data: Float32Array, rows: number): number[] {
  const per = data.length / rows;
  return Array.from({ length: rows }, (_, i) => {
    let sum = 0;
    for (let j = i * per; j < (i + 1) * per; j++) sum += data[j]!;
    return sum;
  });
}

/** Relevance propagation over one model (through its runtime, which caches the compiled graphs). */
export class RelevancePropagator {
  /** The model explained. */
  readonly ctx: ModelRuntime;

  constructor(ctx: ModelRuntime) {
    this.ctx = ctx;
  }

  /** The model LRP runs on: BatchNorm folded into the preceding layers when asked. */
  model(foldBatchNorms: boolean): OnnxModel {
    return this.ctx.lrpModel(foldBatchNorms);
  }

  /** Per-channel bounds of the model input, from the card's preprocessing (for the zbox rule). */
  inputBounds(): {
    /** The lowest value of each input channel. */
    low: number[];
    /** The highest value of each input channel. */
    high: number[];
  } {
    return this.ctx.inputBounds();
  }

  /**
   * Propagates relevance from each target row's logits back to the input (and any layers) under
   * `options.composite`, in one compiled run for the whole preprocessed batch (which also picks
   * top-1 and given targets: ModelRuntime.relevanceRows).
   */
  async relevance(images: FloatTensor, options: RelevanceOptions): Promise<RelevanceResult> {
    const pending = { pending: images, ...(options.target ? { target: options.target } : {}) };
    const { rows, result } = await this.ctx.relevanceRows(pending, options);
    return relevanceResult(rows.targets, result);
  }

  /** Relevance for resolved targets: row i of `input` explains class targets.classes[i]. */
  async propagate(
    input: FloatTensor,
    targets: Targets,
    options: RelevanceRequest,
  ): Promise<RelevanceResult> {
    return relevanceResult(targets, await this.ctx.relevance(input, targets, options));
  }
}

/** A relevance run with its conservation totals. */
function relevanceResult(targets: Targets, run: RelevanceRun): RelevanceResult {
  const rows = targets.classes.length;
  return {
    targets,
    logits: run.logits,
    start: run.start,
    ...(run.input ? { input: run.input } : {}),
    layers: run.layers,
    totals: {
      start: rowTotals(run.start, rows),
      ...(run.input ? { input: rowTotals(run.input.data, rows) } : {}),
      layers: new Map([...run.layers].map(([l, r]) => [l, rowTotals(r.relevance.data, rows)])),
    },
  };
}
