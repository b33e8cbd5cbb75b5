// Joining the run folders of a run's shards (camscope evaluate --shard i/N) into the run folder a
// single run would have written. Every shard must hold the same configuration (equal hashes), the
// shards must be all N of one split, each finished over the same images (--limit), complete (a
// record for every image of its batches and every method, but for images it could not read) and
// disjoint (no record of another shard's batch). The joined records are written in the order a
// single run writes them (./shards.ts runOrder), with the examples and the dataset's identity.
//
// Each shard folder is locked while it is read, as a writer would lock it: a shard still being
// written is refused rather than merged half-done.
import { copyFile, mkdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CamscopeError } from "../errors.ts";
import { outputError } from "../util/files.ts";
import type { EvaluateConfig } from "./config.ts";
import {
  readManifest,
  writeManifest,
  type DatasetManifest,
  type FileContent,
} from "./dataset-identity.ts";
import { RunLock } from "./lock.ts";
import { recordKey, type EvalRecord } from "./records.ts";
import {
  claimShard,
  readShardInfo,
  runOrder,
  shardBatches,
  shardName,
  type ShardInfo,
} from "./shards.ts";
import { CONFIG_FILE, configHash, differences, readRun, RunStore } from "./store.ts";

export interface MergeResult {
  config: EvaluateConfig;
  /** The run's records (its images only), in run order. */
  records: EvalRecord[];
  /** Each image id's dataset position. */
  positions: Map<string, number>;
  /** Images the shards could not read. */
  failed: { image: string; file: string; error: string }[];
  /** Records new in the output folder. */
  written: number;
}

interface Shard {
  dir: string;
  info: ShardInfo & { finished: NonNullable<ShardInfo["finished"]> };
  config: EvaluateConfig;
  hash: string;
  records: EvalRecord[];
  manifest: DatasetManifest;
}

const invalid = (message: string, hint?: string) =>
  new CamscopeError("RUN_MISMATCH", message, hint ? { hint } : undefined);

/** Merges the shard folders `dirs` into the run folder `out` (created, or resumed). */
export async function mergeShards(dirs: readonly string[], out: string): Promise<MergeResult> {
  if (dirs.length === 0) {
    throw new CamscopeError("INVALID_ARGUMENT", "camscope merge needs the shards' run folders");
  }
  const inputs = dirs.map((d) => resolve(d));
  if (inputs.includes(resolve(out))) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--out "${out}" is one of the shards; give the merged run a folder of its own`,
    );
  }
  const twice = inputs.find((d, i) => inputs.indexOf(d) !== i);
  if (twice !== undefined) {
    throw new CamscopeError("INVALID_ARGUMENT", `Shard folder "${twice}" is given twice`);
  }
  const locks: RunLock[] = [];
  try {
    const shards: Shard[] = [];
    for (const dir of dirs) {
      // A folder that is not a run folder is named before any lock file is made in it.
      await stat(join(dir, CONFIG_FILE)).catch(() => {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `"${dir}" is not an evaluation run folder: it has no ${CONFIG_FILE}`,
        );
      });
      locks.push(await RunLock.acquire(dir));
      shards.push(await readShard(dir));
    }
    const first = shards[0]!;
    for (const s of shards.slice(1)) {
      if (s.hash !== first.hash) {
        const diff = differences(first.config, s.config).join("; ");
        throw invalid(
          `"${s.dir}" holds another configuration than "${first.dir}" (${diff || "same fields, different hash"}); the shards of one run share every option but --shard and --out`,
        );
      }
    }
    const count = first.info.shard.count;
    const byIndex = new Map<number, Shard>();
    for (const s of shards) {
      if (s.info.shard.count !== count) {
        throw invalid(
          `"${s.dir}" is shard ${shardName(s.info.shard)} and "${first.dir}" shard ${shardName(first.info.shard)}: the shards of one split have one count`,
        );
      }
      const twin = byIndex.get(s.info.shard.index);
      if (twin) {
        throw invalid(`"${twin.dir}" and "${s.dir}" both hold shard ${shardName(s.info.shard)}`);
      }
      byIndex.set(s.info.shard.index, s);
      if (s.info.finished.items !== first.info.finished.items) {
        throw invalid(
          `"${s.dir}" covered the first ${s.info.finished.items} images and "${first.dir}" the first ${first.info.finished.items}: run every shard with the same --limit`,
        );
      }
    }
    const absent = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
    if (absent.length > 0) {
      throw invalid(
        `shard ${absent.map((i) => `${i}/${count}`).join(", ")} ${absent.length > 1 ? "are" : "is"} missing: give every shard's folder`,
      );
    }

    const { config } = first;
    const entries = first.manifest.records;
    const positions = new Map(entries.map((e, i) => [e.id, i]));
    const items = first.info.finished.items;
    const content = new Map<string, { content: FileContent; dir: string }>();
    const kept: EvalRecord[] = [];
    const failed: MergeResult["failed"] = [];
    for (const s of shards) {
      kept.push(...checkShard(s, config, entries, items, positions));
      failed.push(...s.info.finished.failed);
      for (const e of s.manifest.records) {
        if (!e.content) continue;
        const seen = content.get(e.id);
        if (seen && seen.content.sha256 !== e.content.sha256) {
          throw invalid(
            `image "${e.file}" (record "${e.id}") had other bytes for "${seen.dir}" than for "${s.dir}"; the shards did not read the same data`,
          );
        }
        content.set(e.id, { content: e.content, dir: s.dir });
      }
    }

    const { store } = await RunStore.open(out, config);
    try {
      await claimShard(out, undefined, store.records().length);
      const keptSet = new Set(kept);
      for (const s of shards) {
        for (const r of s.records) {
          if (r.example && keptSet.has(r)) await copyExample(s.dir, out, r.example);
        }
      }
      const ordered = runOrder(kept, positions, config.methods, config.batchSize);
      const written = await store.append(ordered);
      await writeManifest(out, {
        version: 1,
        records: entries.map((e) => {
          const c = content.get(e.id)?.content;
          return c ? { ...e, content: c } : { ...e };
        }),
      });
      const ids = new Set(entries.slice(0, items).map((e) => e.id));
      const records = runOrder(
        store.records().filter((r) => ids.has(r.image)),
        positions,
        config.methods,
        config.batchSize,
      );
      return { config, records, positions, failed, written };
    } finally {
      await store.close();
    }
  } finally {
    for (const lock of locks) await lock.release();
  }
}

async function readShard(dir: string): Promise<Shard> {
  const info = await readShardInfo(dir);
  if (!info) {
    throw invalid(
      `"${dir}" is not a shard: it has no shard.json (it was made without --shard)`,
      "merge the folders of camscope evaluate --shard i/N runs",
    );
  }
  if (!info.finished) {
    throw invalid(
      `shard ${shardName(info.shard)} in "${dir}" has not finished (its run was interrupted or is running)`,
      `run its camscope evaluate ... --shard ${shardName(info.shard)} --out ${dir} again; it resumes`,
    );
  }
  const { config, records } = await readRun<EvaluateConfig>(dir);
  const manifest = await readManifest(dir);
  if (!manifest) throw invalid(`"${dir}" has no dataset.json: it is not a complete run folder`);
  return {
    dir,
    info: info as Shard["info"],
    config,
    hash: configHash(config),
    records,
    manifest,
  };
}

/**
 * The shard's records of the run's images, after checking that they are its own (disjoint) and
 * complete. Records of images past the run's --limit (left by an earlier, larger run) are left
 * out, as a single run leaves them out of its tables.
 */
function checkShard(
  s: Shard,
  config: EvaluateConfig,
  entries: DatasetManifest["records"],
  items: number,
  positions: ReadonlyMap<string, number>,
): EvalRecord[] {
  const name = shardName(s.info.shard);
  const ids = s.manifest.records.map((e) => e.id);
  if (ids.length !== entries.length || ids.some((id, i) => id !== entries[i]!.id)) {
    throw invalid(`"${s.dir}" lists other dataset records than the other shards`);
  }
  const batches = shardBatches(items, config.batchSize, s.info.shard);
  const kept: EvalRecord[] = [];
  const keys = new Set<string>();
  for (const r of s.records) {
    const position = positions.get(r.image);
    if (position === undefined) {
      throw invalid(`"${s.dir}" holds a record of image "${r.image}", which the dataset lacks`);
    }
    if (position >= items) continue;
    if (!batches.has(Math.floor(position / config.batchSize))) {
      throw invalid(
        `"${s.dir}" (shard ${name}) holds a record of image "${r.image}", which belongs to another shard; the shards are not disjoint`,
      );
    }
    keys.add(recordKey(r.image, r.method));
    kept.push(r);
  }
  const failed = new Set(s.info.finished.failed.map((f) => f.image));
  let missing = 0;
  let example: string | undefined;
  for (const k of batches) {
    for (const e of entries.slice(
      k * config.batchSize,
      Math.min((k + 1) * config.batchSize, items),
    )) {
      if (failed.has(e.id)) continue;
      for (const m of config.methods) {
        if (keys.has(recordKey(e.id, m))) continue;
        missing++;
        example ??= `image "${e.id}", method ${m}`;
      }
    }
  }
  if (missing > 0) {
    throw invalid(
      `shard ${name} in "${s.dir}" is incomplete: ${missing} records missing (the first: ${example})`,
      `run its camscope evaluate ... --shard ${name} --out ${s.dir} again; it computes only what is missing`,
    );
  }
  return kept;
}

async function copyExample(from: string, to: string, path: string): Promise<void> {
  const target = join(to, path);
  try {
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(from, path), target);
  } catch (error) {
    throw await outputError(error, target);
  }
}
