// The pixel-attribution pipeline shared by every method: for rows whose targets are resolved,
// each method evaluates the gradients or scores it needs through the run's batched helpers (which
// go through the model runtime), and its per-pixel attribution is scaled for display (signed maps
// into [-1, 1], unsigned ones min-max into [0, 1]). Inputs are built chunk by chunk (`batchSize`
// per session run), so memory stays bounded however many steps, samples, windows or masks a method
// asks for, and a chunk mixes the items of several rows.
import { CamscopeError } from "../errors.ts";
import { channelsFirst } from "../runtime/layer-view.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { RuleSet } from "../compiler/rule.ts";
import { isPending, type Rows, type TargetBatch, type Targets } from "../runtime/targets.ts";
import { displayMap, finalCamMaps, spatialMean, weightedSum } from "../tensor/maps.ts";
import { sizeOf, type FloatTensor } from "../tensor/tensor.ts";
import { checkFiniteRows } from "../util/finite.ts";
import { checkArray, checkInteger, checkSeed, describe } from "../util/validate.ts";
import type { AttributionMethod, AttributionRun, Completeness, FillInput } from "./method.ts";

/** Options of {@link explainAttribution}. */
export interface AttributionOptions {
  /** The methods to run (see attributionMethods). */
  methods: readonly AttributionMethod[];
  /** Layers Guided Grad-CAM takes its Grad-CAM from ("auto": the default); several are fused. */
  layers?: readonly string[];
  /**
   * Inputs per session run (steps, samples, windows, masks of any rows). Default: chosen for the
   * model by {@link ModelRuntime.batchPlan} within `memoryBudgetMiB`.
   */
  batchSize?: number;
  /** Memory budget of one run for the default batch size, in MiB (see batch-size.ts). */
  memoryBudgetMiB?: number;
  /** Seed of every random draw. Default 0. */
  seed?: number;
  /** Stops the work between methods and between chunks. */
  signal?: AbortSignal;
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

/**
 * Computes pixel attributions (saliency, Integrated Gradients, SmoothGrad, occlusion, RISE, ...)
 * of rows: one value per input pixel for each row, with every method in `options.methods`;
 * methods that need the same gradients compute them once. Pending rows (images and target options)
 * are resolved by the gradient run of the first method with an input signal where the graph can
 * pick the targets (top-1, given classes), else by a target-picking forward pass.
 */
export async function explainAttribution(
  rt: ModelRuntime,
  rows: Rows,
  options: AttributionOptions,
): Promise<AttributionMaps[]> {
  return (await attributeRows(rt, rows, options)).results;
}

/**
 * {@link explainAttribution}, with the rows it explained. Pending rows are resolved by the first
 * method's input signal run where that method has one and the graph can pick the targets (see
 * ModelRuntime.gradientRows), else by a target-picking pass.
 */
export async function attributeRows(
  rt: ModelRuntime,
  rows: Rows,
  options: AttributionOptions,
): Promise<{ rows: TargetBatch; oneRun: boolean; results: AttributionMaps[] }> {
  checkAttributionOptions(options);
  const images = isPending(rows) ? rt.checkImages(rows.pending) : rows.input;
  if (images.dims.length !== 4 || (rt.card.preprocessing.layout ?? "NCHW") !== "NCHW") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Pixel attribution needs NCHW image inputs; model "${rt.model.source}" takes ${rt.card.preprocessing.layout ?? "NCHW"} [${images.dims.join(", ")}]`,
    );
  }
  // A method's input signal, from the run that resolved pending rows (its time is the method's).
  let primed: { ruleSet: RuleSet; signal: Float32Array; milliseconds: number } | undefined;
  let primedMs = 0;
  let resolved: TargetBatch;
  let oneRun = false;
  const first = options.methods.find((m) => m.signal)?.signal;
  if (isPending(rows) && first) {
    const started = performance.now();
    const run = await rt.gradientRows(rows, { wrt: [rt.input.name], ruleSet: first });
    ({ rows: resolved, oneRun } = run);
    primed = {
      ruleSet: first,
      signal: run.result.grads.get(rt.input.name)!.data,
      milliseconds: performance.now() - started,
    };
  } else {
    resolved = await rt.resolveRows(rows);
  }
  const { input, targets, scores } = resolved;
  const signal = options.signal;
  const { size: batchSize } = await rt.batchPlan(options);
  const count = targets.classes.length;
  const [, channels, height, width] = input.dims as [number, number, number, number];
  const itemDims = [channels, height, width];
  const size = sizeOf(itemDims);

  let forwardPasses = 0;
  let backwardPasses = 0;
  const sharedValues = new Map<string, Promise<unknown>>();
  const run: AttributionRun = {
    runtime: rt,
    input,
    targets,
    scores,
    seed: options.seed ?? 0,
    batchSize,
    gradients: async (ruleSet, total, fill, take) => {
      await inChunks(
        total,
        batchSize,
        itemDims,
        fill,
        targets,
        signal,
        async (batch, classes, start) => {
          const result = await rt.gradients(
            batch,
            { classes, score: targets.score, binary: targets.binary },
            { wrt: [rt.input.name], ruleSet },
          );
          const grads = result.grads.get(rt.input.name)!.data;
          for (let j = 0; j < classes.length; j++) {
            take(start + j, grads.subarray(j * size, (j + 1) * size));
          }
          backwardPasses += classes.length;
        },
      );
    },
    score: async (total, fill) => {
      const out = new Float32Array(total);
      await inChunks(
        total,
        batchSize,
        itemDims,
        fill,
        targets,
        signal,
        async (batch, classes, start) => {
          out.set(await rt.scoreInputs(batch, classes, targets.score, batchSize), start);
          forwardPasses += classes.length;
        },
      );
      return out;
    },
    inputSignal: (ruleSet) =>
      run.shared(`signal:${ruleSet.name}`, async () => {
        if (primed?.ruleSet === ruleSet) {
          backwardPasses += count;
          primedMs += primed.milliseconds;
          return primed.signal;
        }
        const out = new Float32Array(input.data.length);
        await run.gradients(
          ruleSet,
          count,
          (r, buffer) => {
            buffer.set(input.data.subarray(r * size, (r + 1) * size));
            return r;
          },
          (r, grad) => out.set(grad, r * size),
        );
        return out;
      }),
    gradCam: () =>
      run.shared("gradcam", async () => {
        // Grad-CAM's maps from the layers' gradients (one backward pass per row).
        const layers = await Promise.all((options.layers ?? ["auto"]).map((l) => rt.layer(l)));
        const result = await rt.gradients(input, targets, {
          wrt: [...new Set(layers.map((l) => l.name))],
        });
        backwardPasses += count;
        const raw = layers.map((layer) => {
          const a = channelsFirst(layer, result.activations.get(layer.name)!);
          const g = channelsFirst(layer, result.grads.get(layer.name)!);
          const weights = spatialMean(g.data, g.dims);
          return { data: weightedSum(a.data, weights, a.dims), dims: [count, ...a.dims.slice(2)] };
        });
        return finalCamMaps(raw, true, [height, width]);
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
    signal?.throwIfAborted();
    const started = performance.now();
    const [forwardBefore, backwardBefore, primedBefore] = [forwardPasses, backwardPasses, primedMs];
    const { attribution, completeness } = await method.attribute(run);
    checkFiniteRows(attribution, count, `the ${method.name} attribution`, (r) => targets.image[r]!);
    const dims = [count, height, width];
    results.push({
      method,
      attribution: { data: attribution, dims },
      map: { data: displayMap(attribution, count, method.signed), dims },
      signed: method.signed,
      ...(completeness ? { completeness } : {}),
      forwardPasses: count > 0 ? (forwardPasses - forwardBefore) / count : 0,
      backwardPasses: count > 0 ? (backwardPasses - backwardBefore) / count : 0,
      milliseconds: performance.now() - started + primedMs - primedBefore,
    });
  }
  return { rows: resolved, oneRun, results };
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
        `methods[${i}] must be a pixel-attribution method object (from the method registry), got ${describe(m)}`,
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
  signal: AbortSignal | undefined,
  consume: (batch: FloatTensor, classes: number[], start: number) => Promise<void>,
): Promise<void> {
  const size = sizeOf(itemDims);
  const perChunk = Math.max(1, Math.min(chunk, count));
  const buffer = new Float32Array(perChunk * size);
  for (let start = 0; start < count; start += perChunk) {
    signal?.throwIfAborted();
    const m = Math.min(perChunk, count - start);
    const classes: number[] = [];
    for (let j = 0; j < m; j++) {
      const row = fill(start + j, buffer.subarray(j * size, (j + 1) * size));
      classes.push(targets.classes[row]!);
    }
    await consume({ data: buffer.subarray(0, m * size), dims: [m, ...itemDims] }, classes, start);
  }
}
