// The explain service: images or model inputs in, per target each method's raw and final maps
// out (and, on request, overlays and grids as RGB buffers), whatever the method's family.
// - The targets are resolved by the first compiled gradient or relevance run where the graph can
//   pick them (top-1, given classes: one session run per explanation), else by a forward pass
//   first; each family's pipeline then runs its methods once per call so that they share their
//   passes (explain/families.ts).
// - Smoothing wrappers apply to every method that admits them (the method registry says which):
//   augmentation and noise explain variants of each target's input and merge their maps; eigen
//   smoothing is the CAM pipeline's.
// - `stream` explains many images in batches (sized to take about 10 s, or fixed), decoding the
//   next batch while one is explained, reporting an image that cannot be decoded or preprocessed
//   without failing the others, with progress events and cancellation (an AbortSignal).
// No file access: images come from a loader the caller gives (src/io/images.ts in Node).
import type { RgbImage } from "../image/types.ts";
import {
  ALL_INPUT_METHODS,
  ALL_LAYER_METHODS,
  chooseMethod,
  methodNamed,
  resolveMethodNames,
  type MethodChoice,
  type PassCount,
} from "../methods/registry.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import type { BatchPlan } from "../runtime/batch-size.ts";
import type { ModelRuntime } from "../runtime/runtime.ts";
import type { Rows, TargetBatch, TargetOptions } from "../runtime/targets.ts";
import { displayMap, normalizeInPlace } from "../tensor/maps.ts";
import { gatherRows, type FloatTensor } from "../tensor/tensor.ts";
import { CamscopeError } from "../errors.ts";
import { checkLayerNames } from "../cam/pipeline.ts";
import { NonFiniteError } from "../util/finite.ts";
import {
  checkArray,
  checkInteger,
  checkNumber,
  checkSeed,
  describe,
  WORK_LIMITS,
} from "../util/validate.ts";
import {
  prepareBatch,
  type DecodedImage,
  type FailedImage,
  type PreparedImage,
} from "./batches.ts";
import type { Explanation, MethodResult } from "./explanation.ts";
import { runFamilies, type FamilyResult } from "./families.ts";
import {
  AUGMENTATIONS,
  augmentRows,
  meanOfCopies,
  mergeVariants,
  noisyRows,
  type NoiseSmoothing,
} from "./smoothing.ts";

/** A method to run: its name (or "all", "pixel"), with options, or a choice already resolved. */
export type MethodRequest =
  | string
  | {
      /** The method's name. */
      name: string;
      /** Its options (see the method vocabulary). */
      options?: Readonly<Record<string, unknown>>;
    }
  | MethodChoice;

/** What to explain, and how. */
export interface ExplainRequest {
  /** The methods, in the order results list them; "all": every CAM method, "pixel": every pixel method. */
  methods: readonly MethodRequest[];
  /** Options by method name, for methods named by a string (or through "all" and "pixel"). */
  options?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Target layers of layer-level methods ("auto": the model's default); several are fused. */
  layers?: readonly string[];
  /** Which classes to explain; default each image's top class. */
  target?: TargetOptions;
  /**
   * Inputs per session run for methods that run many (perturbations, paths, samples). Default:
   * chosen for the model within `memoryBudgetMiB` (see {@link ModelRuntime.batchPlan}).
   */
  batchSize?: number;
  /**
   * Memory budget of one session run for the default batch size, in MiB. Default
   * DEFAULT_BATCH_MEMORY_MIB (512).
   */
  memoryBudgetMiB?: number;
  /** Seed of every random draw. Default 0. */
  seed?: number;
  /** Test-time augmentation smoothing (six variants per target) for methods that admit it. */
  augSmooth?: boolean;
  /** Eigen smoothing for the CAM methods that admit it. */
  eigenSmooth?: boolean;
  /** Noise smoothing (mean over noisy copies) for methods that admit it. */
  noiseSmooth?: NoiseSmoothing;
  /** Stops the work at the next batch, method or chunk of inputs (the promise rejects). */
  signal?: AbortSignal;
}

/** The methods of a request, resolved against a model before any image is read. */
export interface MethodPlan {
  /** The methods that run, with their options, in order. */
  choices: MethodChoice[];
  /** The layers of layer-level methods. */
  layers: LayerInfo[];
  /** Methods selected through "all" or "pixel" that do not apply to the layers, and why. */
  skipped: {
    /** The method's name. */
    method: string;
    /** Why it does not apply. */
    why: string;
  }[];
  /** Inputs per session run of the methods that run many, and their estimated memory. */
  batch: BatchPlan;
}

/** Images for {@link Explainer.stream}: items, how to decode one, and how to name it. */
export interface ImageSource<T> {
  /** The items to explain (paths, dataset records, ...). */
  items: readonly T[];
  /** Decodes an item; a rejection is reported as that image's failure. */
  load(item: T): Promise<RgbImage>;
  /** The item's name in messages. */
  name(item: T): string;
}

/** Options of {@link Explainer.stream}. */
export interface StreamOptions {
  /** Images per batch; default: sized to take about 10 s each, up to 32. */
  batchSize?: number;
  /** Called after each batch has been consumed: images done (explained or failed) of all. */
  onProgress?(done: number, total: number): void;
}

/** One batch of {@link Explainer.stream}. */
export interface ExplainedBatch<T> {
  /** The images explained, in order; rows of the explanation refer to them by index. */
  images: PreparedImage<T>[];
  /** The images of the batch that could not be decoded or preprocessed. */
  failed: FailedImage<T>[];
  /** The explanation of `images` (absent when none of the batch could be explained). */
  explanation?: Explanation;
}

// Batches are sized to take about CHUNK_MS, so that progress moves even when perturbation methods
// spend seconds per image, up to MAX_CHUNK images, which bounds the images and maps held at once.
// Small batches cost little: methods batch their perturbed inputs across and within images anyway.
const FIRST_CHUNK = 4;
const MAX_CHUNK = 32;
const CHUNK_MS = 10_000;

function isTargetBatch(input: FloatTensor | TargetBatch): input is TargetBatch {
  return "targets" in input;
}

function isChoice(request: MethodRequest): request is MethodChoice {
  return typeof request === "object" && "method" in request;
}

/** Explains batches of one model with any methods of the vocabulary. */
export class Explainer {
  /** The model explained. */
  readonly runtime: ModelRuntime;

  constructor(runtime: ModelRuntime) {
    this.runtime = runtime;
  }

  /**
   * The methods and layers of a request, checked: unknown methods, options, layers, and methods
   * named one by one that do not apply to the layers throw a CamscopeError; those that came with
   * "all" or "pixel" and do not apply are left out, with the reason.
   */
  async plan(request: ExplainRequest): Promise<MethodPlan> {
    checkRequest(request);
    const rt = this.runtime;
    for (const name of Object.keys(request.options ?? {})) methodNamed(name);
    const layers = await Promise.all((request.layers ?? ["auto"]).map((l) => rt.layer(l)));
    const choices: MethodChoice[] = [];
    const skipped: MethodPlan["skipped"] = [];
    const add = (choice: MethodChoice, named: boolean) => {
      if (choices.some((c) => c.method === choice.method)) return;
      const why =
        choice.method.level === "layer"
          ? layers.map((l) => choice.method.notApplicable?.(rt.model, l)).find((w) => w)
          : undefined;
      if (why === undefined) choices.push(choice);
      else if (named) throw new CamscopeError("INVALID_ARGUMENT", why);
      else skipped.push({ method: choice.method.name, why });
    };
    for (const entry of request.methods) {
      if (isChoice(entry)) {
        add(entry, true);
        continue;
      }
      const name = typeof entry === "string" ? entry : entry.name;
      const given = typeof entry === "string" ? {} : (entry.options ?? {});
      const lower = name.toLowerCase();
      const named = lower !== ALL_LAYER_METHODS && lower !== ALL_INPUT_METHODS;
      for (const method of resolveMethodNames([name])) {
        add(chooseMethod(method, { ...request.options?.[method.name], ...given }), named);
      }
    }
    return { choices, layers, skipped, batch: await rt.batchPlan(request) };
  }

  /**
   * Explains a batch of model inputs ([N, ...input dims], preprocessed), or rows whose targets are
   * resolved already (a TargetBatch from the runtime, which saves the target-picking pass).
   */
  async explain(input: FloatTensor | TargetBatch, request: ExplainRequest): Promise<Explanation> {
    const rt = this.runtime;
    const plan = await this.plan(request);
    request.signal?.throwIfAborted();
    const seed = request.seed ?? 0;
    const family = {
      layers: request.layers ?? ["auto"],
      batchSize: plan.batch.size,
      seed,
      eigenSmooth: request.eigenSmooth ?? false,
      ...(request.signal ? { signal: request.signal } : {}),
    };
    // Methods run in groups of the same smoothing wrappers.
    const groups = new Map<string, { augment: boolean; noise: boolean; members: number[] }>();
    plan.choices.forEach(({ method }, i) => {
      const augment = (request.augSmooth ?? false) && method.smoothing.augmentation;
      const noise = request.noiseSmooth !== undefined && method.smoothing.noise;
      const key = `${augment}/${noise}`;
      const group = groups.get(key) ?? { augment, noise, members: [] };
      group.members.push(i);
      groups.set(key, group);
    });
    // Smoothing makes variants of the rows, so their targets come first; otherwise the first
    // compiled run of the families may pick them itself (one session run, see runFamilies).
    const smoothing = [...groups.values()].some((g) => g.augment || g.noise);
    let rows: TargetBatch | undefined = isTargetBatch(input)
      ? input
      : smoothing
        ? await rt.targets(input, request.target)
        : undefined;
    const results = new Array<MethodResult>(plan.choices.length);
    const shared: PassCount = { forward: 1, backward: 0 };
    let layers: LayerInfo[] = [];
    for (const { augment, noise, members } of groups.values()) {
      // Without smoothing, rows not resolved yet are resolved by the families (one group).
      let variants: Rows = rows ?? {
        pending: input as FloatTensor,
        ...(request.target ? { target: request.target } : {}),
      };
      let copies = 1;
      const repeat = <T>(values: readonly T[], n: number) =>
        values.flatMap((c) => new Array<T>(n).fill(c));
      // The row of `rows` each variant row comes from, to name images in errors.
      let origin = rows?.targets.classes.map((_, r) => r) ?? [];
      const wrappers = [augment ? "test-time augmentation" : "", noise ? "noise smoothing" : ""];
      const out = await this.namingSources(
        rows,
        () => origin,
        wrappers,
        async () => {
          // `origin` grows with the variants before they are scored, so that it names their rows.
          // Smoothing resolved the rows first.
          const score = rows?.targets.score;
          if (augment) {
            const base = variants as TargetBatch;
            const layout = rt.card.preprocessing.layout ?? "NCHW";
            origin = repeat(origin, AUGMENTATIONS.length);
            variants = await rt.targets(augmentRows(base.input, layout), {
              classes: repeat(base.targets.classes, AUGMENTATIONS.length),
              score,
            });
            copies *= AUGMENTATIONS.length;
          }
          if (noise) {
            const base = variants as TargetBatch;
            const samples = request.noiseSmooth!.samples;
            origin = repeat(origin, samples);
            variants = await rt.targets(noisyRows(base.input, request.noiseSmooth!, seed), {
              classes: repeat(base.targets.classes, samples),
              score,
            });
            copies *= samples;
          }
          return runFamilies(
            rt,
            variants,
            members.map((i) => plan.choices[i]!),
            family,
          );
        },
      );
      if (out.layers.length > 0) layers = out.layers;
      rows ??= out.rows;
      // The first compiled run picked the targets: no target-picking pass.
      if (out.oneRun) shared.forward -= 1;
      // Each variant row was scored once more, then explained as a row of its own.
      const smoothed = augment || noise;
      shared.forward += copies * ((smoothed ? 1 : 0) + out.shared.forward);
      shared.backward += copies * out.shared.backward;
      const merge = (t: FloatTensor): FloatTensor => {
        let merged = t;
        if (noise) merged = meanOfCopies(merged, request.noiseSmooth!.samples);
        if (augment) merged = mergeVariants(merged);
        return merged;
      };
      out.results.forEach((r: FamilyResult, j) => {
        const method = plan.choices[members[j]!]!.method;
        const applied = {
          augmentation: augment,
          eigen: family.eigenSmooth && method.smoothing.eigen,
          noise,
        };
        results[members[j]!] = smoothed
          ? smoothedResult(r, merge, copies, applied)
          : { ...r, smoothing: applied };
      });
    }
    // No method ran (all skipped): the targets still come with the explanation.
    const explained = rows ?? (await rt.targets(input as FloatTensor, request.target));
    return {
      targets: explained.targets,
      scores: explained.scores,
      logits: explained.logits,
      layers: plan.choices.some((c) => c.method.level === "layer") ? layers : [],
      results,
      sharedPasses: shared,
      skipped: plan.skipped,
      batch: plan.batch,
    };
  }

  /**
   * Runs `work` on variants of `rows` (augmented or noisy copies), turning a NonFiniteError about
   * variant rows into one about the images they came from (`origin()` maps a variant row to its
   * row of `rows`). Without wrappers the rows are the images' own and errors pass unchanged.
   */
  private async namingSources<R>(
    rows: TargetBatch | undefined,
    origin: () => readonly number[],
    wrappers: readonly string[],
    work: () => Promise<R>,
  ): Promise<R> {
    const applied = wrappers.filter((w) => w !== "");
    if (applied.length === 0) return work();
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof NonFiniteError)) throw error;
      const rowOf = origin();
      const sources = error.images.map((v) => rows!.targets.image[rowOf[v]!]!);
      throw new NonFiniteError(
        `${error.what} (${applied.join(", ")})`,
        [...new Set(sources)].sort((a, b) => a - b),
        error.found,
      );
    }
  }

  /**
   * Explains many images in batches: decodes them with `source.load` (the next batch while one is
   * explained), preprocesses each batch with the model card's preprocessing, and yields each
   * batch's explanation with the images that failed. An image whose values turn NaN or Inf (its
   * logits, activations, gradients or maps) fails alone: the rest of its batch is explained again
   * without it. The request is checked before any image is read.
   */
  async *stream<T>(
    source: ImageSource<T>,
    request: ExplainRequest,
    options: StreamOptions = {},
  ): AsyncGenerator<ExplainedBatch<T>> {
    await this.plan(request);
    if (options.batchSize !== undefined) {
      checkInteger(options.batchSize, "stream batchSize", { min: 1 });
    }
    const { items } = source;
    const spec = this.runtime.card.preprocessing;
    const load = (start: number, count: number): Promise<(DecodedImage<T> | FailedImage<T>)[]> =>
      Promise.all(
        items.slice(start, start + count).map((item, j) =>
          source.load(item).then(
            (rgb): DecodedImage<T> => ({ item, index: start + j, rgb }),
            (error: Error): FailedImage<T> => ({ item, index: start + j, error: error.message }),
          ),
        ),
      );
    let size = Math.min(options.batchSize ?? FIRST_CHUNK, items.length);
    let next = load(0, size);
    for (let start = 0; start < items.length;) {
      request.signal?.throwIfAborted();
      const loaded = await next;
      const began = performance.now();
      const end = start + loaded.length;
      if (end < items.length) next = load(end, size);
      const failed: FailedImage<T>[] = [];
      const decoded: DecodedImage<T>[] = [];
      for (const entry of loaded) {
        if ("error" in entry) failed.push(entry);
        else decoded.push(entry);
      }
      let prepared = prepareBatch(decoded, spec, source.name, (f) => failed.push(f));
      let explanation: Explanation | undefined;
      while (prepared.images.length > 0) {
        try {
          explanation = await this.explain(prepared.input, {
            ...request,
            ...(request.target ? { target: targetsOfBatch(request.target, prepared.images) } : {}),
          });
          break;
        } catch (error) {
          // NaN or Inf for some images: those fail, the others are explained again.
          if (!(error instanceof NonFiniteError)) throw error;
          const bad = new Set(error.images);
          for (const i of bad) {
            const image = prepared.images[i]!;
            failed.push({
              item: image.item,
              index: image.index,
              error: `Cannot explain "${source.name(image.item)}": ${error.what} hold ${error.found}`,
            });
          }
          const keep = prepared.images.flatMap((_, i) => (bad.has(i) ? [] : [i]));
          prepared = {
            images: keep.map((i) => prepared.images[i]!),
            input:
              keep.length > 0
                ? gatherRows(prepared.input, keep)
                : { data: new Float32Array(0), dims: [0] },
          };
        }
      }
      failed.sort((a, b) => a.index - b.index);
      yield { images: prepared.images, failed, ...(explanation ? { explanation } : {}) };
      options.onProgress?.(end, items.length);
      if (options.batchSize === undefined) {
        const perImage = (performance.now() - began) / loaded.length;
        size = Math.max(1, Math.min(MAX_CHUNK, Math.round(CHUNK_MS / perImage)));
      }
      start = end;
    }
  }
}

/** A request checked (types and ranges) before any work, for callers in plain JavaScript too. */
function checkRequest(request: unknown): void {
  if (request === null || typeof request !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `explain request must be an object, got ${describe(request)}`,
    );
  }
  const r = request as ExplainRequest;
  checkArray(r.methods, "methods").forEach((m, i) => {
    const ok =
      typeof m === "string" ||
      (m !== null && typeof m === "object" && ("name" in m || "method" in m));
    if (!ok) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `methods[${i}] must be a method name, { name, options } or a chosen method, got ${describe(m)}`,
      );
    }
  });
  if (r.options !== undefined && (r.options === null || typeof r.options !== "object")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `options must be an object of options by method name, got ${describe(r.options)}`,
    );
  }
  checkLayerNames(r.layers);
  if (r.batchSize !== undefined) checkInteger(r.batchSize, "batchSize", { min: 1 });
  if (r.seed !== undefined) checkSeed(r.seed);
  if (r.noiseSmooth !== undefined) {
    const n = r.noiseSmooth as Partial<NoiseSmoothing> | null;
    if (n === null || typeof n !== "object") {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `noiseSmooth must be an object { samples, noise }, got ${describe(n)}`,
      );
    }
    checkInteger(n.samples, "noiseSmooth samples", { min: 1, max: WORK_LIMITS.samples });
    checkNumber(n.noise, "noiseSmooth noise", { min: 0, max: WORK_LIMITS.noise });
  }
}

/** A request's target classes for the images of one batch (per-image classes are picked out). */
function targetsOfBatch<T>(
  target: TargetOptions,
  images: readonly PreparedImage<T>[],
): TargetOptions {
  const classes = target.classes;
  if (typeof classes !== "object") return target;
  return { ...target, classes: images.map((image) => classes[image.index]!) };
}

/**
 * A result explained on `copies` variants per row, merged: raw maps averaged (augmentations
 * flipped back first), the final map averaged and normalised again (min-max, or by the largest
 * magnitude if signed), passes per row multiplied by the variants. Completeness is dropped: it
 * holds for one input, not for a mean over several.
 */
function smoothedResult(
  r: FamilyResult,
  merge: (t: FloatTensor) => FloatTensor,
  copies: number,
  smoothing: MethodResult["smoothing"],
): MethodResult {
  const map = merge(r.map);
  const rows = map.dims[0]!;
  const rest: FamilyResult = { ...r };
  delete rest.completeness;
  return {
    ...rest,
    raw: r.raw.map(merge),
    map: {
      data: r.signed ? displayMap(map.data, rows, true) : normalizeInPlace(map.data, rows),
      dims: map.dims,
    },
    passes: {
      forward: r.passes.forward * copies,
      backward: r.passes.backward * copies,
      ...(r.passes.atMost ? { atMost: true } : {}),
    },
    smoothing,
  };
}
