// Splitting a run into shards, and the order of a run's records. A run's batches are fixed dataset
// positions (batch k: positions k*B .. (k+1)*B - 1, B the batch size), and batch k's seeds depend
// on k alone, so any subset of whole batches computes exactly the records a run of every batch
// would. Shard i of N takes the batches k with k mod N = i: round robin keeps the shards' costs
// even when a dataset is sorted by class, and a batch keeps its shard when --limit grows.
//
// A shard's run folder is an ordinary run folder (config.json with the whole run's configuration
// and hash, records.jsonl, dataset.json, examples/) plus shard.json, which says which shard it is
// and, once its run ended, how many dataset images the run covered and which could not be read.
import { join } from "node:path";
import { CamscopeError } from "../errors.ts";
import { readRegularFile, replaceOutputFile, TEXT_FILE_LIMIT } from "../util/files.ts";
import type { EvalRecord } from "./records.ts";

export const SHARD_FILE = "shard.json";

export interface ShardSpec {
  /** From 0 to count - 1. */
  index: number;
  count: number;
}

/** shard.json: which shard a folder holds and, after a run ended, what that run covered. */
export interface ShardInfo {
  version: 1;
  shard: ShardSpec;
  /** Written when a run of the shard ends: the dataset images the run covered (--limit), and
   *  those of the shard's batches that could not be decoded (they have no records). */
  finished?: { items: number; failed: { image: string; file: string; error: string }[] };
}

/** Parses "i/N" (--shard); shards are numbered from 0 (Kubernetes' JOB_COMPLETION_INDEX). */
export function parseShard(text: string): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const bad = (why: string) =>
    new CamscopeError("INVALID_ARGUMENT", `--shard "${text}": ${why}`, {
      hint: "shard i of N is --shard i/N, i from 0 to N-1 (e.g. --shard 0/4 ... --shard 3/4)",
    });
  if (!match) throw bad("expected i/N, two whole numbers");
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw bad("the shard count N must be at least 1");
  if (!Number.isSafeInteger(index) || index >= count) {
    throw bad(`the shard index must be from 0 to ${count - 1} (shards are numbered from 0)`);
  }
  return { index, count };
}

export const shardName = (s: ShardSpec) => `${s.index}/${s.count}`;

/** Batches of a run over `items` dataset images in batches of `batchSize`. */
export function batchCount(items: number, batchSize: number): number {
  return Math.ceil(items / batchSize);
}

/** The batch indices of a shard. */
export function shardBatches(items: number, batchSize: number, shard: ShardSpec): Set<number> {
  const batches = new Set<number>();
  for (let k = shard.index; k < batchCount(items, batchSize); k += shard.count) batches.add(k);
  return batches;
}

/** Which shard of `count` a batch belongs to. */
export function shardOfBatch(batch: number, count: number): number {
  return batch % count;
}

/**
 * Records in the order a single uninterrupted run writes them: by batch, then method (in the
 * configuration's order), then dataset position. Tables built from this order are the same
 * however the records were written (resumed runs, merged shards, queue workers).
 */
export function runOrder(
  records: readonly EvalRecord[],
  positions: ReadonlyMap<string, number>,
  methods: readonly string[],
  batchSize: number,
): EvalRecord[] {
  const methodIndex = new Map(methods.map((m, i) => [m, i]));
  const key = (r: EvalRecord) => {
    const position = positions.get(r.image) ?? Number.MAX_SAFE_INTEGER;
    return [
      Math.floor(position / batchSize),
      methodIndex.get(r.method) ?? methods.length,
      position,
    ];
  };
  return records
    .map((r) => ({ r, k: key(r) }))
    .sort((a, b) => a.k[0]! - b.k[0]! || a.k[1]! - b.k[1]! || a.k[2]! - b.k[2]!)
    .map(({ r }) => r);
}

/** A folder's shard.json, undefined if it has none. */
export async function readShardInfo(dir: string): Promise<ShardInfo | undefined> {
  const path = join(dir, SHARD_FILE);
  const read = await readRegularFile(path, TEXT_FILE_LIMIT);
  if (!("bytes" in read)) {
    if (read.reason === "file not found") return undefined;
    throw new CamscopeError("INVALID_ARGUMENT", `Cannot read "${path}": ${read.reason}`);
  }
  try {
    const info = JSON.parse(read.bytes.toString("utf8")) as ShardInfo;
    const s = info.shard;
    if (
      info.version === 1 &&
      Number.isSafeInteger(s?.count) &&
      Number.isSafeInteger(s?.index) &&
      s.index >= 0 &&
      s.index < s.count
    ) {
      return info;
    }
  } catch {
    // Reported below.
  }
  throw new CamscopeError(
    "INVALID_ARGUMENT",
    `"${path}" is not a camscope shard description; use a new --out folder`,
  );
}

/** Writes shard.json whole (a kill leaves the old one or the new one). */
export async function writeShardInfo(dir: string, info: ShardInfo): Promise<void> {
  await replaceOutputFile(join(dir, SHARD_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * Checks that the run folder `dir` (opened, so locked, by the caller) may hold `shard`: a new
 * folder becomes that shard; a folder of another shard, or a whole run's folder with records, is
 * refused. `shard` undefined: a whole run, refused in a shard's folder.
 */
export async function claimShard(
  dir: string,
  shard: ShardSpec | undefined,
  storedRecords: number,
): Promise<void> {
  const info = await readShardInfo(dir);
  if (shard === undefined) {
    if (info) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `"${dir}" holds shard ${shardName(info.shard)} of a run, not a whole run`,
        {
          hint: `resume it with --shard ${shardName(info.shard)}, or merge the shards with camscope merge`,
        },
      );
    }
    return;
  }
  if (info) {
    if (info.shard.index !== shard.index || info.shard.count !== shard.count) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `"${dir}" holds shard ${shardName(info.shard)}, not shard ${shardName(shard)}; its results are not mixed with another shard's`,
        { hint: "give each shard its own --out folder" },
      );
    }
    // Running again: unfinished until this run ends (a kill leaves it so, and merge refuses it).
    if (info.finished) await writeShardInfo(dir, { version: 1, shard });
    return;
  }
  if (storedRecords > 0) {
    throw new CamscopeError(
      "RUN_MISMATCH",
      `"${dir}" holds a whole run's results, not shard ${shardName(shard)}`,
      { hint: "give each shard its own --out folder" },
    );
  }
  await writeShardInfo(dir, { version: 1, shard });
}
