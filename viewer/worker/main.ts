// The viewer's worker: holds the engine (onnxruntime-web), the open model and the decoded
// images, and answers the page's requests (protocol.ts) one at a time; a "cancel" message is
// read between the steps of an explain run. Nothing leaves the page: models and images arrive
// as bytes from the page, and the only fetches are the site's own bundled files.
import { decodeImageBytes } from "../../src/browser/images.ts";
import { fetchBundledModel, openModelBytes, type ModelBytes } from "../../src/browser/models.ts";
import { Engine, Tensor } from "../../src/engine/engine.ts";
import {
  backendChoices,
  setWasmPaths,
  threadsAvailable,
  wasmThreadCount,
  webGpuUnavailable,
} from "../../src/engine/ort-web.ts";
import { CamscopeError } from "../../src/errors.ts";
import { preprocess } from "../../src/image/preprocess.ts";
import type { ModelContext } from "../../src/models/context.ts";
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
import { CancelledError, explain, methodCatalog } from "./explain.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<RequestMessage | { type: "cancel" }>) => void) | null;
  postMessage(message: ReplyMessage, transfer?: Transferable[]): void;
  location: { href: string };
}
const scope = self as unknown as WorkerScope;

let engine: Engine | undefined;
let ctx: ModelContext | undefined;
let images: { info: ImageInfo; tensor: Float32Array }[] = [];
let cancelRequested = false;
let queue: Promise<void> = Promise.resolve();

/** The page's site root (the worker script sits in it). */
const SITE = new URL("./", scope.location.href);

function reply(message: ReplyMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

async function backendLine(): Promise<string> {
  const last = backendChoices().at(-1);
  const threads = wasmThreadCount() ?? 1;
  const wasm = `WASM, ${threads} thread${threads === 1 ? "" : "s"}${threadsAvailable() ? "" : " (page not cross-origin isolated)"}`;
  if (!last) return wasm;
  return last.backend === "webgpu" ? `WebGPU (${last.reason})` : `${wasm}; WebGPU: ${last.reason}`;
}

const TOP = 5;

function softmax(logits: Float32Array): Float32Array {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

async function describeModel(model: ModelContext, bundled: boolean): Promise<ModelInfo> {
  const [layers, chosen, methods] = await Promise.all([
    model.layers(),
    model.defaultLayer(),
    methodCatalog(model),
  ]);
  return {
    name: model.card.name ?? model.model.source,
    bundled,
    input: { name: model.input.name, dims: model.input.dims },
    labels: model.card.labels,
    layers: layers.map((l) => ({
      name: l.name,
      op: l.op,
      dims: l.dims,
      default: l.name === chosen.name,
    })),
    methods,
    intake: model.intake.changes,
    backend: await backendLine(),
  };
}

async function open(source: ModelBytes): Promise<ModelInfo> {
  if (!engine) throw new CamscopeError("INVALID_ARGUMENT", "The worker was not initialised");
  ctx = await openModelBytes(source, engine);
  images = [];
  // The first run creates the sessions (and decides WebGPU or WASM) before the page shows them.
  await ctx.layers();
  return describeModel(ctx, source.bundled ?? false);
}

async function addImages(files: FileBytes[]): Promise<ImageInfo[]> {
  if (!ctx) throw new CamscopeError("INVALID_ARGUMENT", "Open a model before adding images");
  const model = ctx;
  const added: ImageInfo[] = [];
  for (const file of files) {
    const rgb = await decodeImageBytes(file.bytes, file.name, {
      colorManagement: model.card.preprocessing.colorManagement ?? false,
    });
    const { tensor, dims, transforms } = preprocess([rgb], model.card.preprocessing);
    const session = await model.session();
    const out = await session.run({ [model.input.name]: new Tensor("float32", tensor, dims) }, [
      model.output,
    ]);
    const logits = out[model.output]!.data as Float32Array;
    const probabilities = softmax(logits);
    const top: Prediction[] = Array.from(logits.keys())
      .sort((a, b) => logits[b]! - logits[a]!)
      .slice(0, TOP)
      .map((index) => ({
        index,
        label: model.label(index),
        logit: logits[index]!,
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
      backend: "onnxruntime-web",
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
    if (!ctx) throw new CamscopeError("INVALID_ARGUMENT", "Open a model first");
    if (images.length === 0)
      throw new CamscopeError("INVALID_ARGUMENT", "Open at least one image first");
    const [, c, h, w] = ctx.input.dims as [number, number, number, number];
    const size = c * h * w;
    const batch = new Float32Array(images.length * size);
    images.forEach((image, i) => batch.set(image.tensor, i * size));
    cancelRequested = false;
    return explain(ctx, { data: batch, dims: [images.length, c, h, w] }, body, {
      progress: (done, total, label) => reply({ id, type: "progress", done, total, label }),
      cancelled: () => cancelRequested,
    });
  },
};

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
    if (error instanceof CancelledError) {
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
    cancelRequested = true;
    return;
  }
  // One request at a time, in order: an explain run must not see the model change under it.
  queue = queue.then(() => handle(message));
};
