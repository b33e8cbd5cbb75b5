// The page's side of the worker: typed requests with progress, and cancel. A cancel first asks
// the worker to stop between steps; a step that runs on (Score-CAM on a big model takes seconds)
// is cut short by terminating the worker and starting a fresh one, which is given back the
// model and images the page holds.
import type {
  FileBytes,
  Replies,
  ReplyMessage,
  RequestMessage,
  RequestType,
  Requests,
} from "../protocol.ts";

/** How long a cancel waits for the worker to stop by itself before terminating it. */
const CANCEL_GRACE_MS = 1000;

type Progress = (done: number, total: number, label: string) => void;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  progress?: Progress;
}

/** An error the worker reported: the library's one-line message and its code. */
export class WorkerError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = "WorkerError";
    this.code = code;
  }
}

/** What a restarted worker must be given again. */
interface Replay {
  init?: Requests["init"];
  model?:
    | { type: "open-bundled"; body: Requests["open-bundled"] }
    | { type: "open-files"; body: Requests["open-files"] };
  images: FileBytes[];
}

export class WorkerClient {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly replay: Replay = { images: [] };

  constructor(private readonly url: URL) {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = new Worker(this.url, { type: "module", name: "camscope" });
    worker.onmessage = (event: MessageEvent<ReplyMessage>) => this.receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      for (const p of this.pending.values())
        p.reject(new WorkerError(`worker failed: ${event.message}`));
      this.pending.clear();
    };
    return worker;
  }

  private receive(message: ReplyMessage): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === "progress") {
      pending.progress?.(message.done, message.total, message.label);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === "ok") pending.resolve(message.value);
    else pending.reject(new WorkerError(message.message, message.code));
  }

  /** Sends a request; `transfer` hands buffers over instead of copying them. */
  request<T extends RequestType>(
    type: T,
    body: Requests[T],
    options: { progress?: Progress; transfer?: Transferable[] } = {},
  ): Promise<Replies[T]> {
    this.remember(type, body);
    const id = this.nextId++;
    return new Promise<Replies[T]>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(options.progress ? { progress: options.progress } : {}),
      });
      this.worker.postMessage({ id, type, body } as RequestMessage, options.transfer ?? []);
    });
  }

  private remember<T extends RequestType>(type: T, body: Requests[T]): void {
    if (type === "init") this.replay.init = body as Requests["init"];
    else if (type === "open-bundled" || type === "open-files") {
      this.replay.model = { type, body } as Replay["model"];
      this.replay.images = [];
    } else if (type === "add-images") {
      // Copies: the originals may be transferred to the worker.
      const images = (body as Requests["add-images"]).images;
      this.replay.images.push(...images.map((f) => ({ name: f.name, bytes: f.bytes.slice() })));
    } else if (type === "clear-images") this.replay.images = [];
  }

  /**
   * Stops the running request: resolves once the worker is ready for the next one (stopped by
   * itself, or replaced by a fresh worker given back the model and images).
   */
  async cancel(): Promise<"stopped" | "restarted"> {
    const running = [...this.pending.values()];
    if (running.length === 0) return "stopped";
    this.worker.postMessage({ type: "cancel" });
    const settled = Promise.allSettled(
      running.map(
        (p) =>
          new Promise((resolve) => {
            const { resolve: res, reject } = p;
            p.resolve = (v) => {
              res(v);
              resolve(v);
            };
            p.reject = (e) => {
              reject(e);
              resolve(e);
            };
          }),
      ),
    );
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), CANCEL_GRACE_MS));
    if ((await Promise.race([settled, timeout])) !== "timeout") return "stopped";
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new WorkerError("Cancelled", "CANCELLED"));
    this.pending.clear();
    this.worker = this.start();
    const { init, model, images } = this.replay;
    this.replay.images = [];
    // Posted at once, in order: the worker answers requests in the order they arrive, so any
    // request made from here on finds the model and images back in place.
    const replayed: Promise<unknown>[] = [];
    if (init) replayed.push(this.request("init", init));
    if (model) replayed.push(this.request(model.type, model.body as never));
    if (images.length > 0) replayed.push(this.request("add-images", { images }));
    await Promise.all(replayed);
    return "restarted";
  }
}
