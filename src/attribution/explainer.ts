// The pixel-attribution pipeline shared by every method: one forward pass picks the targets,
// each method evaluates the gradients or scores it needs through the run's batched helpers, and
// its per-pixel attribution is scaled for display (signed maps into [-1, 1], unsigned ones
// min-max into [0, 1]). Inputs are built chunk by chunk (`batchSize` per session run), so memory
// stays bounded however many steps, samples, windows or masks a method asks for, and a chunk
// mixes the items of several rows.
import type { FloatTensor } from "../compiler/backward-session.ts";
import { CamExplainer, checkImages } from "../cam/explainer.ts";
import { gradCam } from "../cam/methods/grad-cam.ts";
import {
  gatherRows,
  resolveTargets,
  seedRows,
  targetScores,
  type TargetOptions,
  type Targets,
} from "../cam/targets.ts";
import { Tensor } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { propagatorFor } from "../lrp/relevance.ts";
import type { ModelContext } from "../models/context.ts";
import { sizeOf } from "../onnx/tensor.ts";
import { displayMap } from "./maps.ts";
import type { AttributionMethod, AttributionRun, Completeness, FillInput } from "./method.ts";
import { scoreBackward } from "../cam/score-backward.ts";
import { checkFiniteRows } from "../util/finite.ts";
import { checkArray, checkInteger, checkSeed, describe } from "../util/validate.ts";

/** Options of {@link AttributionExplainer.explain}. */
export interface AttributionOptions {
  /** The methods to run, e.g. `resolveAttributionMethods(["ig", "saliency"])`. */
  methods: readonly AttributionMethod[];
  /** Which classes to explain; default each image's top class. */
  target?: TargetOptions;
  /** Layers Guided Grad-CAM takes its Grad-CAM from ("auto": the default); several are fused. */
  layers?: readonly string[];
  /** Inputs per session run (steps, samples, windows, masks of any rows). Default 32. */
  batchSize?: number;
  /** Seed of every random draw. Default 0. */
  seed?: number;
}

/** One pixel-attribution method's maps for every target row. */
export interface AttributionMaps {
  /** The method. */
  method: AttributionMethod;
  /** One value per input pixel, [R, H, W], in the score's units. */
  attribution: FloatTensor;
  /** The display map, [R, H, W]: attribution / max |attribution| if signed, else min-max. */
  map: FloatTensor;
  /** Whether the map takes both signs. */
  signed: boolean;
  /** Integrated Gradients only. */
  completeness?: Completeness;
  /** Forward passes per row on perturbed inputs (baselines, windows, masks). */
  forwardPasses: number;
  /** Backward passes (gradients of one input) per row. */
  backwardPasses: number;
  /** Time of the method on the whole batch; work shared by methods counts for the first. */
  milliseconds: number;
}

/** What {@link AttributionExplainer.explain} returns: the targets and every method's maps. */
export interface AttributionExplanation {
  /** The (image, class) pair each row explains. */
  targets: Targets;
  /** Target score of each row on its input. */
  scores: Float32Array;
  /** The logits of each row's image. */
  logits: FloatTensor;
  /** One entry per method, in the order given. */
  results: AttributionMaps[];
}

/**
 * Computes pixel attributions (saliency, Integrated Gradients, SmoothGrad, occlusion, RISE, LRP,
 * ...): one value per input pixel for each target row.
 */
export class AttributionExplainer {
  /** The model explained. */
  readonly ctx: ModelContext;
  private readonly cam: CamExplainer;

  constructor(ctx: ModelContext) {
    this.ctx = ctx;
    this.cam = new CamExplainer(ctx);
  }

  /**
   * Explains a preprocessed NCHW batch with every method in `options.methods`; methods that need
   * the same gradients compute them once.
   */
  async explain(images: FloatTensor, options: AttributionOptions): Promise<AttributionExplanation> {
    const ctx = this.ctx;
    checkAttributionOptions(options);
    checkImages(ctx, images);
    if (images.dims.length !== 4 || (ctx.card.preprocessing.layout ?? "NCHW") !== "NCHW") {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Pixel attribution needs NCHW image inputs; model "${ctx.model.source}" takes ${ctx.card.preprocessing.layout ?? "NCHW"} [${images.dims.join(", ")}]`,
      );
    }
    const batchSize = options.batchSize ?? 32;
    const units = sizeOf((await ctx.shapes()).get(ctx.output)!.slice(1));
    const imageLogits = await this.cam.logits(images);
    const targets = resolveTargets(imageLogits, images.dims[0]!, options.target);
    const input = gatherRows(images, targets.image);
    const logits = gatherRows({ data: imageLogits, dims: [images.dims[0]!, units] }, targets.image);
    const scores = targetScores(logits.data, units, targets.classes, targets.score);
    const rows = targets.classes.length;
    const [, channels, height, width] = input.dims as [number, number, number, number];
    const itemDims = [channels, height, width];
    const size = sizeOf(itemDims);

    let forwardPasses = 0;
    let backwardPasses = 0;
    const sharedValues = new Map<string, Promise<unknown>>();
    const run: AttributionRun = {
      ctx,
      input,
      targets,
      scores,
      seed: options.seed ?? 0,
      batchSize,
      gradients: async (ruleSet, count, fill, take) => {
        const { backward, output } = await scoreBackward(ctx, targets.score, targets.binary);
        const spec = { wrt: [ctx.input.name], output, ruleSet };
        await inChunks(count, batchSize, itemDims, fill, targets, async (batch, classes, start) => {
          const seed = seedRows({ ...targets, classes }, units);
          const result = await backward.run(spec, batch, seed);
          const grads = result.grads.get(ctx.input.name)!.data;
          for (let j = 0; j < classes.length; j++) {
            take(start + j, grads.subarray(j * size, (j + 1) * size));
          }
          backwardPasses += classes.length;
        });
      },
      relevance: async (composite, start) => {
        const result = await propagatorFor(ctx).propagate(input, targets, { composite, start });
        backwardPasses += rows;
        return result.input!.data;
      },
      score: async (count, fill) => {
        const out = new Float32Array(count);
        const session = await ctx.session();
        await inChunks(count, batchSize, itemDims, fill, targets, async (batch, classes, start) => {
          const result = await session.runBatched(
            { [ctx.input.name]: new Tensor("float32", batch.data, batch.dims) },
            [ctx.output],
            batchSize,
          );
          const chunkLogits = result[ctx.output]!.data as Float32Array;
          out.set(targetScores(chunkLogits, units, classes, targets.score), start);
          forwardPasses += classes.length;
        });
        return out;
      },
      gradCam: () =>
        run.shared("gradcam", async () => {
          const explanation = await this.cam.explain(input, {
            methods: [gradCam],
            layers: options.layers ?? ["auto"],
            target: { classes: targets.classes, score: targets.score },
          });
          return explanation.results[0]!.map;
        }),
      shared: <T>(key: string, compute: () => Promise<T>): Promise<T> => {
        let value = sharedValues.get(key);
        if (!value) {
          value = compute();
          sharedValues.set(key, value);
        }
        return value as Promise<T>;
      },
    };

    const results: AttributionMaps[] = [];
    for (const method of options.methods) {
      const started = performance.now();
      const [forwardBefore, backwardBefore] = [forwardPasses, backwardPasses];
      const { attribution, completeness } = await method.attribute(run);
      checkFiniteRows(
        attribution,
        rows,
        `the ${method.name} attribution`,
        (r) => targets.image[r]!,
      );
      const dims = [rows, height, width];
      results.push({
        method,
        attribution: { data: attribution, dims },
        map: { data: displayMap(attribution, rows, method.signed), dims },
        signed: method.signed,
        ...(completeness ? { completeness } : {}),
        forwardPasses: rows > 0 ? (forwardPasses - forwardBefore) / rows : 0,
        backwardPasses: rows > 0 ? (backwardPasses - backwardBefore) / rows : 0,
        milliseconds: performance.now() - started,
      });
    }
    return { targets, scores, logits, results };
  }
}

/** Attribution options checked (types and ranges); targets are checked when resolved. */
function checkAttributionOptions(options: unknown): AttributionOptions {
  if (options === null || typeof options !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `attribution options must be an object, got ${describe(options)}`,
    );
  }
  const o = options as AttributionOptions;
  checkArray(o.methods, "methods").forEach((m, i) => {
    if (!m || typeof (m as Partial<AttributionMethod>).attribute !== "function") {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `methods[${i}] must be a pixel-attribution method object (from resolveAttributionMethods), got ${describe(m)}`,
      );
    }
  });
  if (o.batchSize !== undefined) checkInteger(o.batchSize, "batchSize", { min: 1 });
  if (o.seed !== undefined) checkSeed(o.seed);
  if (o.layers !== undefined) checkArray(o.layers, "layers");
  return o;
}

/**
 * Builds `count` inputs with `fill` in chunks of at most `chunk` and hands each chunk (a view of
 * one reused buffer), its items' target classes and its first item to `consume`.
 */
async function inChunks(
  count: number,
  chunk: number,
  itemDims: readonly number[],
  fill: FillInput,
  targets: Targets,
  consume: (batch: FloatTensor, classes: number[], start: number) => Promise<void>,
): Promise<void> {
  const size = sizeOf(itemDims);
  const perChunk = Math.max(1, Math.min(chunk, count));
  const buffer = new Float32Array(perChunk * size);
  for (let start = 0; start < count; start += perChunk) {
    const m = Math.min(perChunk, count - start);
    const classes: number[] = [];
    for (let j = 0; j < m; j++) {
      const row = fill(start + j, buffer.subarray(j * size, (j + 1) * size));
      classes.push(targets.classes[row]!);
    }
    await consume({ data: buffer.subarray(0, m * size), dims: [m, ...itemDims] }, classes, start);
  }
}
