// The onnxruntime-web binding: ONNX Runtime compiled to WebAssembly (SIMD always; threads when the
// page is cross-origin isolated, since WASM threads need SharedArrayBuffer), and WebGPU where the
// device has an adapter AND the graph's results on it agree with WASM's. GPU kernels are new and
// vary by driver; a map that silently differs from the CPU's would be worse than a slow one, so
// every session is checked once, when it is created: one probe run of the graph on both
// backends, outputs compared; WASM is kept on any disagreement or failure. The only module that
// imports onnxruntime-web (the browser build swaps ort-node.ts for this file).
import * as ort from "onnxruntime-web";
import { CamscopeError } from "../errors.ts";
import { valueInfoDims, type OnnxModel } from "../onnx/model.ts";
import { DataType } from "../onnx/proto.ts";
import { createRng } from "../util/random.ts";
import type { OrtRuntime, OrtSession, OrtTensor, SessionSettings } from "./runtime.ts";

/** The web backends camscope runs on. */
export type WebBackend = "webgpu" | "wasm";

/** Why a session runs where it runs, one per session created (see {@link backendChoices}). */
export interface BackendChoice {
  /** The model's source name. */
  model: string;
  /** The backend the session runs on. */
  backend: WebBackend;
  /** Why: WebGPU unavailable, failed, disagreed (by how much), or agreed. */
  reason: string;
}

/**
 * Largest difference allowed between WebGPU and WASM outputs, relative to the largest WASM
 * output: the 1e-4 the compiler's references use for float32 kernels that sum in another order.
 */
export const WEBGPU_TOLERANCE = 1e-4;

/** The browser globals read here, absent in Node (where this binding runs in tests). */
const page = globalThis as {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number; gpu?: GpuLike };
};

const choices: BackendChoice[] = [];
/**
 * Why WebGPU was given up, once a WebGPU run failed: the device may then be unusable (a later
 * run on SwiftShader's WebGPU was seen to hang rather than fail), so every session moves to WASM
 * and no new one is opened on WebGPU.
 */
let gpuGivenUp: string | undefined;
/** WebGPU runs one at a time: onnxruntime-web's WebGPU backend does not run sessions concurrently. */
let gpuQueue: Promise<unknown> = Promise.resolve();

function onGpu<T>(task: () => Promise<T>): Promise<T> {
  const result = gpuQueue.then(task);
  gpuQueue = result.catch(() => undefined);
  return result;
}
let gpuCheck: Promise<string | undefined> | undefined;
let wasmThreads: number | undefined;

/** Where the page serves onnxruntime-web's .wasm and .mjs files (before the first session). */
export function setWasmPaths(prefix: string): void {
  ort.env.wasm.wasmPaths = prefix;
}

/** The backend of every session created so far, and why, in order. */
export function backendChoices(): readonly BackendChoice[] {
  return choices;
}

/** The WASM thread pool's size once the first session has started it. */
export function wasmThreadCount(): number | undefined {
  return wasmThreads;
}

/** Whether WASM threads can run here: they need SharedArrayBuffer (cross-origin isolation). */
export function threadsAvailable(): boolean {
  return typeof SharedArrayBuffer !== "undefined" && page.crossOriginIsolated === true;
}

function cores(): number {
  return page.navigator?.hardwareConcurrency ?? 1;
}

/** Why WebGPU cannot be used here, or undefined when an adapter is there. */
export function webGpuUnavailable(): Promise<string | undefined> {
  gpuCheck ??= (async () => {
    const gpu = page.navigator?.gpu;
    if (!gpu) return "no WebGPU here (navigator.gpu is absent)";
    try {
      return (await gpu.requestAdapter())
        ? undefined
        : "no WebGPU adapter (GPU disabled or absent)";
    } catch (error) {
      return `requesting a WebGPU adapter failed: ${(error as Error).message}`;
    }
  })();
  return gpuCheck;
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/**
 * Random feeds for every graph input (batch and other symbolic dims 1), seeded: what both
 * backends run in the agreement check.
 */
export function probeFeeds(model: OnnxModel): Record<string, OrtTensor> {
  const random = createRng(7);
  const feeds: Record<string, OrtTensor> = {};
  for (const input of model.inputs()) {
    const dims = (valueInfoDims(input) ?? []).map((d) => d ?? 1);
    const size = dims.reduce((a, b) => a * b, 1);
    const type = input.type?.tensor_type?.elem_type;
    if (type === DataType.FLOAT) {
      feeds[input.name] = new ort.Tensor(
        "float32",
        Float32Array.from({ length: size }, () => random.normal()),
        dims,
      );
    } else if (type === DataType.INT64) {
      feeds[input.name] = new ort.Tensor("int64", new BigInt64Array(size), dims);
    } else if (type === DataType.INT32) {
      feeds[input.name] = new ort.Tensor("int32", new Int32Array(size), dims);
    } else {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Model "${model.source}" input "${input.name}" has element type ${type}, which the WebGPU check cannot feed`,
      );
    }
  }
  return feeds;
}

/**
 * The largest difference between two runs' outputs relative to the reference's largest value,
 * or Infinity where a value is not finite or an output is missing or differently shaped.
 */
export function relativeDifference(
  reference: Record<string, OrtTensor>,
  other: Record<string, OrtTensor>,
): number {
  let worst = 0;
  for (const [name, a] of Object.entries(reference)) {
    const b = other[name];
    if (!b || b.dims.join("x") !== a.dims.join("x")) return Infinity;
    if (a.type !== "float32") continue;
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(y[i]!)) return Infinity;
      scale = Math.max(scale, Math.abs(x[i]!));
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    }
    // An output of zeros must be zeros on both.
    worst = Math.max(worst, scale > 0 ? diff / scale : diff > 0 ? Infinity : 0);
  }
  return worst;
}

/** How {@link chooseSession} opens a session on one backend (injectable for tests). */
export type OpenOn = (backend: WebBackend) => Promise<OrtSession>;

/**
 * The session to use: WebGPU when `gpuUnavailable` is undefined, its session opens, and its
 * outputs on `feeds` agree with WASM's within {@link WEBGPU_TOLERANCE}; WASM otherwise. A WebGPU
 * session comes with its WASM twin, kept open: onnxruntime-web 1.30's WebGPU session failed its
 * next run ("no GPU data for input") once the WASM session of the check had been released, and
 * the twin is where runs go if the GPU fails later.
 */
export async function chooseSession(
  open: OpenOn,
  feeds: Record<string, OrtTensor>,
  gpuUnavailable: string | undefined,
): Promise<{ session: OrtSession; backend: WebBackend; reason: string; wasm?: OrtSession }> {
  if (gpuUnavailable !== undefined) {
    return { session: await open("wasm"), backend: "wasm", reason: gpuUnavailable };
  }
  const wasm = await open("wasm");
  let gpu: OrtSession | undefined;
  try {
    gpu = await open("webgpu");
    const expected = await wasm.run(feeds);
    const session = gpu;
    const actual = await onGpu(() => session.run(feeds));
    const difference = relativeDifference(expected, actual);
    if (difference <= WEBGPU_TOLERANCE) {
      return {
        session: gpu,
        wasm,
        backend: "webgpu",
        reason: `agrees with WASM (relative difference ${difference.toExponential(1)})`,
      };
    }
    await gpu.release();
    return {
      session: wasm,
      backend: "wasm",
      reason: `WebGPU disagrees with WASM on this graph (relative difference ${difference.toExponential(1)} > ${WEBGPU_TOLERANCE})`,
    };
  } catch (error) {
    await gpu?.release().catch(() => undefined);
    return {
      session: wasm,
      backend: "wasm",
      reason: `WebGPU failed on this graph: ${firstLine(error)}`,
    };
  }
}

/**
 * Fixes the WASM thread pool before the first session: `threads` if given, else every core when
 * the page is cross-origin isolated, else 1. The pool cannot change afterwards.
 */
function startWasm(threads: number | undefined): void {
  const wanted = threadsAvailable() ? (threads ?? cores()) : 1;
  if (wasmThreads === undefined) {
    ort.env.wasm.numThreads = wanted;
    wasmThreads = wanted;
  } else if (threads !== undefined && threads !== wasmThreads) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `onnxruntime-web's WASM thread pool was started with ${wasmThreads} threads; an engine cannot change it to ${threads} (give every engine the same threads, or none)`,
    );
  }
}

type RunArgs = Parameters<OrtSession["run"]>;
type Run = (...args: unknown[]) => ReturnType<OrtSession["run"]>;

/**
 * A session chosen for WebGPU that moves to its WASM twin for good if a run fails (the agreement
 * check ran one input; another batch size or input may still hit a kernel the device cannot run).
 */
class WebGpuSession implements OrtSession {
  private failed = false;

  constructor(
    private readonly gpu: OrtSession,
    private readonly wasm: OrtSession,
    private readonly source: string,
  ) {}

  get inputNames(): readonly string[] {
    return this.wasm.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.wasm.outputNames;
  }

  run = (async (...args: RunArgs) => {
    if (!this.failed && gpuGivenUp === undefined) {
      try {
        return await onGpu(() => (this.gpu.run as Run)(...args));
      } catch (error) {
        gpuGivenUp = `WebGPU failed on "${this.source}" (${firstLine(error)})`;
        choices.push({
          model: this.source,
          backend: "wasm",
          reason: `${gpuGivenUp}: moved to WASM`,
        });
      }
    }
    this.failed = true;
    return (this.wasm.run as Run)(...args);
  }) as OrtSession["run"];

  async release(): Promise<void> {
    await Promise.all([this.gpu.release(), this.wasm.release()]);
  }
}

function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split("\n")[0]!;
}

/** onnxruntime-web as an {@link OrtRuntime}. */
export const runtime: OrtRuntime = {
  name: "onnxruntime-web",
  Tensor: ort.Tensor,
  cores,
  // settings.spinning does not apply here and is ignored: onnxruntime-web's WASM threads are one
  // pool for the page, started once with ort.env.wasm.numThreads (startWasm), not a session's
  // pool that the node binding's allow_spinning entries configure; WebGPU kernels run on the GPU.
  async createSession(model: OnnxModel, bytes: Uint8Array, settings: SessionSettings) {
    startWasm(settings.threads);
    const wanted = settings.executionProviders ?? ["webgpu", "wasm"];
    const unknown = wanted.filter((p) => p !== "webgpu" && p !== "wasm");
    if (unknown.length > 0) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `onnxruntime-web runs on "webgpu" or "wasm", not ${unknown.map((p) => `"${p}"`).join(", ")}`,
      );
    }
    const open: OpenOn = (backend) =>
      ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: settings.optimization,
        logSeverityLevel: 3,
        executionProviders: [backend],
      });
    const gpuUnavailable = !wanted.includes("webgpu")
      ? "WebGPU not requested"
      : (gpuGivenUp ?? (await webGpuUnavailable()));
    const choice = await chooseSession(
      open,
      gpuUnavailable === undefined ? probeFeeds(model) : {},
      gpuUnavailable,
    );
    choices.push({ model: model.source, backend: choice.backend, reason: choice.reason });
    return choice.wasm
      ? new WebGpuSession(choice.session, choice.wasm, model.source)
      : choice.session;
  },
};
