// Layer-wise relevance propagation on a model: picks the targets, builds the starting relevance,
// canonizes the model if the composite asks for it, and runs the compiled relevance graph once for
// the whole batch, returning the relevance at the input and at any requested layers.
import { Backward } from "../compiler/backward-session.ts";
import { foldBatchNorm } from "../compiler/lrp/canonize.ts";
import { lrpRuleSet, resolveComposite, type Composite } from "../compiler/lrp/composites.ts";
import { resolveTargets, seedRows, type TargetOptions, type Targets } from "../cam/targets.ts";
import { CamscopeError } from "../errors.ts";
import { Tensor } from "../engine/engine.ts";
import type { ModelContext } from "../models/context.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { sizeOf, type FloatTensor, gatherRows } from "../tensor/tensor.ts";

/** How relevance starts at the logits (docs/lrp-rules.md, "Starting relevance"). */
export type RelevanceStart = "one-hot" | "contrastive";

/** Every {@link RelevanceStart}. */
export const RELEVANCE_STARTS: readonly RelevanceStart[] = ["one-hot", "contrastive"];

/**
 * Starting relevance rows [N, units]: 1 at each row's class, and for "contrastive" -1/units at the
 * other classes. A binary (one-unit) model starts from +1 or -1 on its unit, as its gradient does.
 */
export function startingRelevance(
  targets: Targets,
  units: number,
  start: RelevanceStart,
): Float32Array {
  if (targets.binary) return seedRows(targets, units);
  const seed = new Float32Array(targets.classes.length * units);
  if (start === "contrastive") seed.fill(-1 / units);
  targets.classes.forEach((c, i) => (seed[i * units + c] = 1));
  return seed;
}

/** Options of {@link RelevancePropagator.relevance}. */
export interface RelevanceOptions {
  /** A composite, a composite's name (COMPOSITES) or a rule applied to every layer ("epsilon:0.1"). */
  composite: Composite | string;
  /** The starting relevance at the logits. Default "one-hot". */
  start?: RelevanceStart;
  /** Values to return relevance at besides the input ("auto" is the default CAM layer). */
  layers?: readonly string[];
  /** Also return the relevance at the model input (default true). */
  input?: boolean;
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

/** Relevance propagation over one model (compiled graphs are cached per composite). */
export class RelevancePropagator {
  /** The model explained. */
  readonly ctx: ModelContext;
  private folded: OnnxModel | undefined;
  private readonly backwards = new Map<boolean, Promise<Backward>>();

  constructor(ctx: ModelContext) {
    this.ctx = ctx;
  }

  /** The model LRP runs on: BatchNorm folded into the preceding layers when asked. */
  model(foldBatchNorms: boolean): OnnxModel {
    if (!foldBatchNorms) return this.ctx.model;
    this.folded ??= foldBatchNorm(this.ctx.model).model;
    return this.folded;
  }

  private backward(foldBatchNorms: boolean): Promise<Backward> {
    let b = this.backwards.get(foldBatchNorms);
    if (!b) {
      b = this.ctx
        .shapes()
        .then(
          (shapes) =>
            new Backward(this.ctx.engine, this.model(foldBatchNorms), shapes, this.ctx.input.name),
        );
      this.backwards.set(foldBatchNorms, b);
    }
    return b;
  }

  /** Per-channel bounds of the model input, from the card's preprocessing (for the zbox rule). */
  inputBounds(): {
    /** The preprocessed value of byte 0 per channel. */
    low: number[];
    /** The preprocessed value of byte 255 per channel. */
    high: number[];
  } {
    const p = this.ctx.card.preprocessing;
    const mean = p.mean ?? [0, 0, 0];
    const std = p.std ?? [1, 1, 1];
    const top = 255 * (p.scale ?? 1 / 255);
    return {
      low: mean.map((m, c) => (0 - m) / std[c]!),
      high: mean.map((m, c) => (top - m) / std[c]!),
    };
  }

  /**
   * Propagates relevance from each target row's logits back to the input (and any layers) under
   * `options.composite`, in one compiled run for the whole preprocessed batch.
   */
  async relevance(images: FloatTensor, options: RelevanceOptions): Promise<RelevanceResult> {
    const session = await this.ctx.session();
    const out = await session.runBatched(
      { [this.ctx.input.name]: new Tensor("float32", images.data, images.dims) },
      [this.ctx.output],
    );
    const logits = out[this.ctx.output]!.data as Float32Array;
    const targets = resolveTargets(logits, images.dims[0]!, options.target);
    return this.propagate(gatherRows(images, targets.image), targets, options);
  }

  /** Relevance for resolved targets: row i of `input` explains class targets.classes[i]. */
  async propagate(
    input: FloatTensor,
    targets: Targets,
    options: Omit<RelevanceOptions, "target">,
  ): Promise<RelevanceResult> {
    const composite =
      typeof options.composite === "string"
        ? resolveComposite(options.composite)
        : options.composite;
    const shapes = await this.ctx.shapes();
    const units = sizeOf(shapes.get(this.ctx.output)!.slice(1));
    const layers = await Promise.all((options.layers ?? []).map((l) => this.ctx.layer(l)));
    const layerNames = [...new Set(layers.map((l) => l.name))];
    const wantInput = options.input ?? true;
    const wrt = [...(wantInput ? [this.ctx.input.name] : []), ...layerNames];
    if (wrt.length === 0) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        "Relevance requested at no value (no input, no layers)",
      );
    }
    const start = startingRelevance(targets, units, options.start ?? "one-hot");
    const backward = await this.backward(composite.foldBatchNorm);
    const ruleSet = lrpRuleSet(backward.model, composite, { bounds: this.inputBounds() });
    const result = await backward.run({ wrt, output: this.ctx.output, ruleSet }, input, start);
    const rows = input.dims[0]!;
    const inputRelevance = wantInput ? result.grads.get(this.ctx.input.name)! : undefined;
    return {
      targets,
      logits: result.output,
      start,
      ...(inputRelevance ? { input: inputRelevance } : {}),
      layers: new Map(
        layerNames.map((l) => [
          l,
          { relevance: result.grads.get(l)!, activations: result.activations.get(l)! },
        ]),
      ),
      totals: {
        start: rowTotals(start, rows),
        ...(inputRelevance ? { input: rowTotals(inputRelevance.data, rows) } : {}),
        layers: new Map(layerNames.map((l) => [l, rowTotals(result.grads.get(l)!.data, rows)])),
      },
    };
  }
}

const propagators = new WeakMap<ModelContext, RelevancePropagator>();

/** The model's shared propagator, so every caller reuses its compiled relevance graphs. */
export function propagatorFor(ctx: ModelContext): RelevancePropagator {
  let p = propagators.get(ctx);
  if (!p) {
    p = new RelevancePropagator(ctx);
    propagators.set(ctx, p);
  }
  return p;
}
