// The ONNX Runtime engine: a cache of sessions, batched runs split into chunks, disposal. It
// runs on the binding of its environment (runtime.ts): onnxruntime-node here, onnxruntime-web in
// the browser build, which replaces ./ort-node.ts with ./ort-web.ts.
import { CamscopeError } from "../errors.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { checkArray, checkChoice, checkInteger, describe } from "../util/validate.ts";
import { runtime as environmentRuntime } from "./ort-node.ts";
import type { OrtRunOptions, OrtRuntime, OrtSession, OrtTensor } from "./runtime.ts";

export type { OrtTensor } from "./runtime.ts";
/** ONNX Runtime's tensor class (of onnxruntime-node, or onnxruntime-web in the browser build). */
export const Tensor = environmentRuntime.Tensor;

/** How an {@link Engine} creates its ONNX Runtime sessions. */
export interface EngineOptions {
  /** Intra-op threads per session, 1 to the cores (the page's in a browser); default: all cores. */
  threads?: number;
  /** Allow `threads` above the machine's cores (up to 1024); oversubscribing slows runs down. */
  forceThreads?: boolean;
  /** Largest batch sent to one session run (at least 1); bigger batches are split into chunks. */
  chunkSize?: number;
  /** ONNX Runtime graph optimisation level. */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /**
   * Execution providers in order of preference, e.g. ["cuda", "cpu"] in Node; in the browser
   * "webgpu" and "wasm" (default: WebGPU where it agrees with WASM, see ort-web.ts).
   */
  executionProviders?: string[];
  /**
   * Let ONNX Runtime's threads spin between parallel sections (its own default). Off by default:
   * on a machine shared with other busy processes, spinning threads lose their cores and every
   * node waits for them; measured on a loaded 2-core machine, 2 threads, batch 1, a MobileNetV2
   * forward took 30 ms spinning against 7-14 ms not, forward + backward 124-139 ms against
   * 32-69 ms. On idle dedicated cores spinning can save a little latency per node. Bindings
   * without such a setting (onnxruntime-web) ignore it.
   */
  spinning?: boolean;
  /** The ONNX Runtime binding; default the environment's (onnxruntime-node, or -web in a page). */
  runtime?: OrtRuntime;
}

/** Session inputs by input name. */
export type Feeds = Record<string, OrtTensor>;
/** Session outputs by output name. */
export type Results = Record<string, OrtTensor>;

/** A loaded model ready to run. */
export class ModelSession {
  /** The ONNX Runtime session. */
  readonly session: OrtSession;
  /** Largest batch {@link ModelSession.runBatched} sends to one run by default. */
  readonly chunkSize: number;
  /** The model's name in errors (its source). */
  readonly source: string;
  /**
   * The one batch size a fixed-batch model accepts: every run is then split into chunks of it,
   * the last padded with zeros, so callers batch freely.
   */
  readonly fixedBatch: number | undefined;
  private disposed = false;

  constructor(session: OrtSession, chunkSize: number, source = "<model>", fixedBatch?: number) {
    this.session = session;
    this.chunkSize = fixedBatch ?? checkInteger(chunkSize, "chunkSize", { min: 1 });
    this.source = source;
    this.fixedBatch = fixedBatch;
  }

  /** The model's input names. */
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** The model's output names. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * One session run, no splitting (except into a fixed-batch model's chunks). `quiet` keeps ONNX
   * Runtime from logging a failure itself. ONNX Runtime's errors become MODEL_RUN errors.
   */
  async run(feeds: Feeds, outputs?: readonly string[], quiet = false): Promise<Results> {
    const n = Object.values(feeds)[0]?.dims[0];
    if (this.fixedBatch !== undefined && n !== this.fixedBatch) {
      return this.runBatched(feeds, outputs);
    }
    return this.runOnce(feeds, outputs, quiet);
  }

  private async runOnce(
    feeds: Feeds,
    outputs: readonly string[] | undefined,
    quiet = false,
  ): Promise<Results> {
    if (this.disposed) {
      throw new CamscopeError(
        "DISPOSED",
        `The session of model "${this.source}" was disposed (its engine's dispose() was called); open the model on a new Engine`,
      );
    }
    const options: OrtRunOptions = quiet ? { logSeverityLevel: 4 } : {};
    try {
      const results = outputs
        ? await this.session.run(feeds, [...outputs], options)
        : await this.session.run(feeds, options);
      return results as Results;
    } catch (error) {
      const message = (error as Error).message?.split("\n")[0] ?? String(error);
      throw new CamscopeError(
        "MODEL_RUN",
        `ONNX Runtime failed running model "${this.source}": ${message}`,
        { cause: error },
      );
    }
  }

  /**
   * Runs a batch whose every feed and output has the batch as its first dimension, in chunks of
   * at most `chunkSize` samples, and concatenates the outputs. Chunk feeds are views, not copies.
   */
  async runBatched(
    feeds: Feeds,
    outputs?: readonly string[],
    chunkSize = this.chunkSize,
  ): Promise<Results> {
    // A chunk of 0 (or NaN) would never advance through the batch.
    checkInteger(chunkSize, "chunkSize", { min: 1 });
    const entries = Object.entries(feeds);
    const n = entries[0]?.[1].dims[0];
    if (n === undefined)
      throw new CamscopeError("INVALID_ARGUMENT", "runBatched needs at least one feed");
    for (const [name, t] of entries) {
      if (t.dims[0] !== n) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `Feed "${name}" has batch ${t.dims[0]}, expected ${n}`,
        );
      }
    }
    const fixed = this.fixedBatch;
    if (fixed === undefined && n <= chunkSize) return this.run(feeds, outputs);
    const size = fixed ?? chunkSize;
    const parts: Results[] = [];
    for (let start = 0; start < n; start += size) {
      const end = Math.min(n, start + size);
      // A fixed-batch model takes exactly `fixed` rows: the last chunk is padded, then cut.
      const pad = fixed !== undefined && end - start < size;
      const chunk: Feeds = {};
      for (const [name, t] of entries) {
        chunk[name] = pad ? padBatch(t, start, end, size) : sliceBatch(t, start, end);
      }
      const results = await this.runOnce(chunk, outputs ?? this.session.outputNames);
      parts.push(pad ? truncateBatch(results, end - start, size) : results);
    }
    return concatBatches(parts, n);
  }

  /** Releases the session's native memory. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

type TypedData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array;

function sliceBatch(t: OrtTensor, start: number, end: number): OrtTensor {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = (t.data as TypedData).subarray(start * per, end * per);
  return new Tensor(t.type as "float32", data as Float32Array, [end - start, ...t.dims.slice(1)]);
}

/** Rows start..end of `t` followed by zero rows up to `size` rows. */
function padBatch(t: OrtTensor, start: number, end: number, size: number): OrtTensor {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const Ctor = (t.data as TypedData).constructor as new (n: number) => TypedData;
  const data = new Ctor(size * per);
  (data as Float32Array).set((t.data as Float32Array).subarray(start * per, end * per));
  return new Tensor(t.type as "float32", data as Float32Array, [size, ...t.dims.slice(1)]);
}

/** The first `rows` rows of every result (outputs without a batch axis are kept whole). */
function truncateBatch(results: Results, rows: number, size: number): Results {
  const out: Results = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = t.dims[0] === size ? sliceBatch(t, 0, rows) : t;
  }
  return out;
}

function concatBatches(parts: Results[], n: number): Results {
  const out: Results = {};
  for (const name of Object.keys(parts[0]!)) {
    const first = parts[0]![name]!;
    const per = first.dims.slice(1).reduce((a, b) => a * b, 1);
    const Ctor = (first.data as TypedData).constructor as new (n: number) => TypedData;
    const data = new Ctor(n * per);
    let offset = 0;
    for (const p of parts) {
      const d = p[name]!.data as TypedData;
      (data as Float32Array).set(d as Float32Array, offset);
      offset += d.length;
    }
    out[name] = new Tensor(first.type as "float32", data as Float32Array, [
      n,
      ...first.dims.slice(1),
    ]);
  }
  return out;
}

/** The static batch size of a model's first fed input, undefined when symbolic. */
function fixedBatch(model: OnnxModel): number | undefined {
  const d = model.inputs()[0]?.type?.tensor_type?.shape?.dim?.[0]?.dim_value;
  return d !== undefined && d > 0 ? d : undefined;
}

const modelIds = new WeakMap<OnnxModel, number>();
let nextModelId = 0;

/** A stable per-process identity of a model object, for cache keys. */
export function modelKey(model: OnnxModel): string {
  let id = modelIds.get(model);
  if (id === undefined) {
    id = nextModelId++;
    modelIds.set(model, id);
  }
  return `model#${id}`;
}

const OPTIMIZATION_LEVELS = ["disabled", "basic", "extended", "all"] as const;
const MAX_FORCED_THREADS = 1024;

/** Engine options checked: wrong types and values out of range are INVALID_ARGUMENT errors. */
function checkEngineOptions(options: unknown): EngineOptions {
  if (options === null || typeof options !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Engine options must be an object, got ${describe(options)}`,
    );
  }
  const o = options as EngineOptions;
  if (o.runtime !== undefined && typeof o.runtime?.createSession !== "function") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Engine option runtime must be an ONNX Runtime binding (an OrtRuntime), got ${describe(o.runtime)}`,
    );
  }
  if (o.chunkSize !== undefined) checkInteger(o.chunkSize, "Engine option chunkSize", { min: 1 });
  if (o.threads !== undefined) {
    // The binding's cores: the machine's in Node, the page's (hardwareConcurrency) in a browser.
    const cores = (o.runtime ?? environmentRuntime).cores();
    const max = o.forceThreads ? MAX_FORCED_THREADS : cores;
    checkInteger(o.threads, `Engine option threads (${cores} cores; forceThreads to exceed)`, {
      min: 1,
      max,
    });
  }
  if (o.spinning !== undefined && typeof o.spinning !== "boolean") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Engine option spinning must be true or false, got ${describe(o.spinning)}`,
    );
  }
  if (o.optimization !== undefined) {
    checkChoice(o.optimization, "Engine option optimization", OPTIMIZATION_LEVELS);
  }
  if (o.executionProviders !== undefined) {
    const providers = checkArray(o.executionProviders, "Engine option executionProviders");
    if (!providers.every((p) => typeof p === "string")) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Engine option executionProviders must be names such as "cpu", got ${describe(providers)}`,
      );
    }
  }
  return o;
}

/**
 * Runs ONNX models with ONNX Runtime: one cached session per model, on the CPU unless
 * {@link EngineOptions.executionProviders} says otherwise. Dispose it when done.
 */
export class Engine {
  /** The options given, with the default chunk size (32) filled in. */
  readonly options: Required<Pick<EngineOptions, "chunkSize">> & EngineOptions;
  /** The ONNX Runtime binding sessions are created with. */
  readonly runtime: OrtRuntime;
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  private disposed = false;

  constructor(options: EngineOptions = {}) {
    const checked = checkEngineOptions(options);
    this.options = { chunkSize: 32, ...checked };
    this.runtime = checked.runtime ?? environmentRuntime;
  }

  private checkAlive(): void {
    if (this.disposed) {
      throw new CamscopeError(
        "DISPOSED",
        "This Engine was disposed (dispose() was called); make a new Engine to run models",
      );
    }
  }

  /** The session of a model, created once and cached under the model's identity (or `key`). */
  session(model: OnnxModel, key = modelKey(model)): Promise<ModelSession> {
    this.checkAlive();
    let s = this.sessions.get(key);
    if (!s) {
      s = this.open(model);
      this.sessions.set(key, s);
      // A failed creation must not poison the cache for a later, corrected call.
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  /** A new, uncached session; the caller disposes it. */
  async open(model: OnnxModel): Promise<ModelSession> {
    this.checkAlive();
    const o = this.options;
    try {
      const session = await this.runtime.createSession(model, model.toBytes(), {
        optimization: o.optimization ?? "all",
        spinning: o.spinning ?? false,
        ...(o.threads ? { threads: o.threads } : {}),
        ...(o.executionProviders ? { executionProviders: o.executionProviders } : {}),
      });
      return new ModelSession(session, o.chunkSize, model.source, fixedBatch(model));
    } catch (error) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `ONNX Runtime cannot load model "${model.source}": ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Releases every cached session. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.dispose()));
  }
}
