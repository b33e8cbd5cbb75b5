// The viewer's worker: holds the engine (onnxruntime-web), the open model's runtime and the
// decoded images, and answers the page's requests (protocol.ts) one at a time; a "cancel"
// message aborts the running explain call. Nothing leaves the page: models and images arrive as
// bytes from the page, and the only fetches are the site's own bundled files.
import { decodeImageBytes } from "../../src/browser/images.ts";
import { fetchBundledModel, openModelBytes, type ModelBytes } from "../../src/browser/models.ts";
import { Engine } from "../../src/engine/engine.ts";
import {
  backendChoices,
  setWasmPaths,
  threadsAvailable,
  wasmThreadCount,
  webGpuUnavailable,
} from "../../src/engine/ort-web.ts";
import { CamscopeError } from "../../src/errors.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import { ModelRuntime } from "../../src/runtime/runtime.ts";
import { classProbabilities } from "../../src/runtime/targets.ts";
import type {
  FileBytes,
  ImageInfo,
  ModelInfo,
  Prediction,
  Replies,
  ReplyMessage,
  RequestMessage,
  Requests,
} from "../protocol.ts";
import { explain, methodCatalog } from "./explain.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<RequestMessage | { type: "cancel" }>) => void) | null;
  postMessage(message: ReplyMessage, transfer?: Transferable[]): void;
  location: { href: string };
}
const scope = self as unknown as WorkerScope;

let engine: Engine | undefined;
let runtime: ModelRuntime | undefined;
let images: { info: ImageInfo; tensor: Float32Array }[] = [];
let running: AbortController | undefined;
let queue: Promise<void> = Promise.resolve();

/** The page's site root (the worker script sits in it). */
const SITE = new URL("./", scope.location.href);
/** Predictions listed per image. */
const TOP = 5;

function reply(message: ReplyMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function backendLine(): string {
  const last = backendChoices().at(-1);
  const threads = wasmThreadCount() ?? 1;
  const wasm = `WASM, ${threads} thread${threads === 1 ? "" : "s"}${threadsAvailable() ? "" : " (page not cross-origin isolated)"}`;
  if (!last) return wasm;
  return last.backend === "webgpu" ? `WebGPU (${last.reason})` : `${wasm}; WebGPU: ${last.reason}`;
}

async function describeModel(rt: ModelRuntime, bundled: boolean): Promise<ModelInfo> {
  const [layers, chosen, methods] = await Promise.all([
    rt.layers(),
    rt.defaultLayer(),
    methodCatalog(rt),
  ]);
  return {
    name: rt.card.name ?? rt.model.source,
    bundled,
    input: { name: rt.input.name, dims: rt.input.dims },
    labels: rt.card.labels,
    layers: layers.map((l) => ({
      name: l.name,
      op: l.op,
      dims: l.dims,
      default: l.name === chosen.name,
    })),
    methods,
    intake: rt.intake.changes,
    backend: backendLine(),
  };
}

async function open(source: ModelBytes): Promise<ModelInfo> {
  if (!engine) throw new CamscopeError("INVALID_ARGUMENT", "The worker was not initialised");
  // The previous model's sessions go with its engine; a disposed engine refuses further use.
  await engine.dispose();
  engine = new Engine(engine.options);
  runtime = undefined;
  images = [];
  const loaded = await openModelBytes(source, engine);
  runtime = new ModelRuntime(loaded, engine);
  return describeModel(runtime, loaded.bundled);
}

async function addImages(files: FileBytes[]): Promise<ImageInfo[]> {
  const rt = runtime;
  if (!rt) throw new CamscopeError("INVALID_ARGUMENT", "Open a model before adding images");
  const added: ImageInfo[] = [];
  for (const file of files) {
    const rgb = await decodeImageBytes(file.bytes, file.name, {
      colorManagement: rt.card.preprocessing.colorManagement ?? false,
    });
    const { tensor, dims, transforms } = preprocess([rgb], rt.card.preprocessing);
    const { logits } = await rt.forward({ data: tensor, dims });
    const probabilities = classProbabilities(logits.data);
    // A one-unit (binary) output's class 0 is its negated logit.
    const logit = (i: number) =>
      logits.data.length === 1 ? (i === 1 ? logits.data[0]! : -logits.data[0]!) : logits.data[i]!;
    const top: Prediction[] = Array.from(probabilities.keys())
      .sort((a, b) => probabilities[b]! - probabilities[a]! || a - b)
      .slice(0, TOP)
      .map((index) => ({
        index,
        label: rt.label(index),
        logit: logit(index),
        probability: probabilities[index]!,
      }));
    const info: ImageInfo = {
      name: file.name,
      width: rgb.width,
      height: rgb.height,
      rgb: rgb.data,
      transform: transforms[0]!,
      top,
    };
    images.push({ info, tensor });
    // A copy goes to the page (transferred); the worker keeps its own.
    added.push({ ...info, rgb: rgb.data.slice() });
  }
  return added;
}

type Handler<T extends keyof Requests> = (body: Requests[T], id: number) => Promise<Replies[T]>;

const handlers: { [T in keyof Requests]: Handler<T> } = {
  async init(body) {
    setWasmPaths(new URL(body.wasmPaths, SITE).href);
    engine = new Engine(body.threads ? { threads: body.threads } : {});
    const gpu = await webGpuUnavailable();
    return {
      threads: engine.runtime.cores(),
      isolated: threadsAvailable(),
      webgpu: gpu ?? "available (used where a probe run agrees with WASM)",
    };
  },
  async "open-bundled"(body) {
    return open(await fetchBundledModel(body.name, SITE));
  },
  async "open-files"(body) {
    return open({
      name: body.model.name,
      bytes: body.model.bytes,
      ...(body.card
        ? { card: new TextDecoder().decode(body.card.bytes), cardName: body.card.name }
        : {}),
    });
  },
  async "add-images"(body) {
    return addImages(body.images);
  },
  async "clear-images"() {
    images = [];
    return null;
  },
  async explain(body, id) {
    const rt = runtime;
    if (!rt) throw new CamscopeError("INVALID_ARGUMENT", "Open a model first");
    if (images.length === 0) {
      throw new CamscopeError("INVALID_ARGUMENT", "Open at least one image first");
    }
    const [, c, h, w] = rt.input.dims as [number, number, number, number];
    const size = c * h * w;
    const batch = new Float32Array(images.length * size);
    images.forEach((image, i) => batch.set(image.tensor, i * size));
    running = new AbortController();
    try {
      return await explain(
        rt,
        { data: batch, dims: [images.length, c, h, w] },
        body,
        (done, total, label) => reply({ id, type: "progress", done, total, label }),
        running.signal,
      );
    } finally {
      running = undefined;
    }
  },
};

/** The buffers of every whole-buffer typed array in `value`, to transfer instead of copy. */
function transferables(value: unknown): Transferable[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) {
      if (
        v.buffer instanceof ArrayBuffer &&
        v.byteOffset === 0 &&
        v.byteLength === v.buffer.byteLength
      )
        out.add(v.buffer);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  visit(value);
  return [...out];
}

async function handle(message: RequestMessage): Promise<void> {
  try {
    const handler = handlers[message.type] as Handler<typeof message.type>;
    const value = await handler(message.body as never, message.id);
    reply({ id: message.id, type: "ok", value }, transferables(value));
  } catch (error) {
    const e = error as Error & { code?: string };
    if (e.name === "AbortError") {
      reply({ id: message.id, type: "error", message: "Cancelled", code: "CANCELLED" });
    } else {
      reply({
        id: message.id,
        type: "error",
        message: e instanceof CamscopeError ? e.message : `internal error: ${e.name}: ${e.message}`,
        ...(e.code ? { code: e.code } : {}),
      });
    }
  }
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === "cancel") {
    running?.abort();
    return;
  }
  // One request at a time, in order: an explain run must not see the model change under it.
  queue = queue.then(() => handle(message));
};
