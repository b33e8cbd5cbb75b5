// A queued run's state in Redis, beside BullMQ's own keys. All keys of run H share the hash tag
// {H} (one slot, so the scripts below may touch several):
//
//   camscope:{H}:meta     the run: configuration, the options workers rebuild it from, its size
//   camscope:{H}:lease    the coordinator's lease (one coordinator per run; ./lease.ts)
//   camscope:{H}:done     hash: "<image>\0<method>" -> 1, every record stored (idempotency)
//   camscope:{H}:failed   hash: image id -> why it could not be read
//   camscope:{H}:out      stream of stored records (with their example overlay) and failures,
//                         read by the coordinator, which deletes entries once its run folder has
//                         them on disk
//
// A worker stores a record with one script: HSETNX on the done hash and, only if that set it, XADD
// to the stream. Scripts run atomically and are persisted whole, so a record is in the stream
// exactly once however often its job runs (a retry after a worker died, a stalled job run twice),
// and never marked done without being in the stream.
import type { Redis } from "ioredis";
import { CamscopeError } from "../../errors.ts";
import { recordKey, type EvalRecord } from "../records.ts";

export const QUEUE_NAME = "camscope-evaluate";

/** What a coordinator publishes for its workers. */
export interface RunMeta<D = unknown> {
  version: 1;
  /** The configuration's hash: the run's name. */
  hash: string;
  config: Record<string, unknown>;
  /** The options workers rebuild the configuration from (cli/evaluate-setup.ts). */
  definition: D;
  /** Dataset images the run covers, batches, and records expected. */
  items: number;
  batches: number;
  total: number;
  /** The coordinator: where it writes the run folder. */
  coordinator: { host: string; pid: number; out: string; started: string };
}

/** One entry of the run's stream, as the coordinator reads it. */
export type StreamEntry =
  | { id: string; kind: "record"; record: EvalRecord; example?: { path: string; png: Buffer } }
  | { id: string; kind: "failed"; image: string; file: string; error: string };

// KEYS: done, stream. ARGV: key, record JSON, example path ("" if none), example PNG.
const STORE_RECORD = `
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'kind', 'record', 'record', ARGV[2], 'path', ARGV[3], 'png', ARGV[4])
return 1`;

// KEYS: failed, stream. ARGV: image, file, error.
const STORE_FAILURE = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('XADD', KEYS[2], '*', 'kind', 'failed', 'image', ARGV[1], 'file', ARGV[2], 'error', ARGV[3])
return 1`;

interface Scripts {
  camscopeStoreRecord(
    done: string,
    stream: string,
    key: string,
    record: string,
    path: string,
    png: Buffer,
  ): Promise<number>;
  camscopeStoreFailure(
    failed: string,
    stream: string,
    image: string,
    file: string,
    error: string,
  ): Promise<number>;
}

/** Registers the scripts on a client (EVALSHA, loaded on first use). */
function scripts(redis: Redis): Scripts {
  const r = redis as Redis & Partial<Scripts>;
  if (!r.camscopeStoreRecord) {
    redis.defineCommand("camscopeStoreRecord", { numberOfKeys: 2, lua: STORE_RECORD });
    redis.defineCommand("camscopeStoreFailure", { numberOfKeys: 2, lua: STORE_FAILURE });
  }
  return r as Redis & Scripts;
}

export function runKeys(hash: string) {
  const base = `camscope:{${hash}}`;
  return {
    meta: `${base}:meta`,
    lease: `${base}:lease`,
    done: `${base}:done`,
    failed: `${base}:failed`,
    stream: `${base}:out`,
  };
}

const field = (fields: Buffer[], name: string): Buffer | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toString() === name) return fields[i + 1]!;
  }
  return undefined;
};

export class RunState {
  readonly redis: Redis;
  readonly hash: string;
  readonly keys: ReturnType<typeof runKeys>;

  constructor(redis: Redis, hash: string) {
    this.redis = redis;
    this.hash = hash;
    this.keys = runKeys(hash);
  }

  async readMeta<D>(): Promise<RunMeta<D> | undefined> {
    const text = await this.redis.get(this.keys.meta);
    if (text === null) return undefined;
    const meta = JSON.parse(text) as RunMeta<D>;
    if (meta.version !== 1 || meta.hash !== this.hash) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `Redis key "${this.keys.meta}" does not describe camscope run ${this.hash.slice(0, 12)}`,
      );
    }
    return meta;
  }

  async hasMeta(): Promise<boolean> {
    return (await this.redis.exists(this.keys.meta)) === 1;
  }

  async writeMeta(meta: RunMeta): Promise<void> {
    await this.redis.set(this.keys.meta, JSON.stringify(meta));
  }

  /** Stores a record unless one of its (image, method) is stored; true if this call stored it. */
  async storeRecord(record: EvalRecord, example?: Buffer): Promise<boolean> {
    const stored = await scripts(this.redis).camscopeStoreRecord(
      this.keys.done,
      this.keys.stream,
      recordKey(record.image, record.method),
      JSON.stringify(record),
      example ? (record.example ?? "") : "",
      example ?? Buffer.alloc(0),
    );
    return stored === 1;
  }

  async storeFailure(failure: { image: string; file: string; error: string }): Promise<void> {
    await scripts(this.redis).camscopeStoreFailure(
      this.keys.failed,
      this.keys.stream,
      failure.image,
      failure.file,
      failure.error,
    );
  }

  /** Which of the record keys are marked stored. */
  async done(keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.hmget(this.keys.done, ...keys);
    return values.map((v) => v !== null);
  }

  /** Marks records stored (those a run folder already has, so workers skip them). */
  async markDone(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      await this.redis.hset(this.keys.done, Object.fromEntries(chunk.map((k) => [k, "1"])));
    }
  }

  /** Forgets that records were stored, so that workers compute them again. */
  async unmark(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      await this.redis.hdel(this.keys.done, ...keys.slice(i, i + CHUNK));
    }
  }

  async storedCount(): Promise<number> {
    return this.redis.hlen(this.keys.done);
  }

  /** Forgets images that could not be read, so that the next jobs try them again. */
  async clearFailures(): Promise<void> {
    await this.redis.del(this.keys.failed);
  }

  async failures(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.failed);
  }

  /** Up to `count` of the oldest stream entries (those not yet deleted by `acknowledge`). */
  async read(count: number): Promise<StreamEntry[]> {
    const raw = await this.redis.xrangeBuffer(this.keys.stream, "-", "+", "COUNT", count);
    return raw.map(([idBuffer, fields]) => {
      const id = idBuffer.toString();
      const text = (name: string) => field(fields, name)?.toString("utf8") ?? "";
      if (text("kind") === "failed") {
        return {
          id,
          kind: "failed",
          image: text("image"),
          file: text("file"),
          error: text("error"),
        };
      }
      const record = JSON.parse(text("record")) as EvalRecord;
      const path = text("path");
      const png = field(fields, "png");
      return {
        id,
        kind: "record",
        record,
        ...(path !== "" && png ? { example: { path, png } } : {}),
      };
    });
  }

  /** Deletes stream entries the run folder now holds. */
  async acknowledge(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xdel(this.keys.stream, ...ids);
  }

  async pending(): Promise<number> {
    return this.redis.xlen(this.keys.stream);
  }

  /** Deletes the run's state (after its run folder holds every record). */
  async remove(): Promise<void> {
    const k = this.keys;
    await this.redis.del(k.meta, k.done, k.failed, k.stream);
  }
}

const CHUNK = 1000;
