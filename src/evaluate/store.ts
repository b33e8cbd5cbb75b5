// The run folder's persistence. Records go to an append-only JSONL file, one line per finished
// (image, method), each batch of lines written in one call and fsync'ed before the runner counts
// it as done; a kill -9 can therefore only tear the last line, which opening the store drops (and
// truncates away) so that the record is recomputed. config.json holds the configuration and its
// hash: a rerun with the same configuration resumes, a different one is refused rather than mixed
// into the old records. dataset.json holds the dataset's identity (./dataset-identity.ts): data
// changed under the same names is refused too. One process at a time writes a folder: opening
// takes its lock (./lock.ts), close() lets go, and a second writer is refused.
import { createHash } from "node:crypto";
import { mkdir, open, truncate } from "node:fs/promises";
import { join } from "node:path";
import { CamscopeError } from "../errors.ts";
import { outputError, readRegularFile, replaceOutputFile, TEXT_FILE_LIMIT } from "../util/files.ts";
import { describe } from "../util/validate.ts";
import { canonicalJson } from "./canonical-json.ts";
import {
  annotationChange,
  checkContent,
  readManifest,
  writeManifest,
  type ManifestEntry,
} from "./dataset-identity.ts";
import { RunLock } from "./lock.ts";
import { recordKey, type EvalRecord } from "./records.ts";

export { canonicalJson };

export const CONFIG_FILE = "config.json";
export const RECORDS_FILE = "records.jsonl";

export interface StoredConfig<C> {
  version: 1;
  hash: string;
  config: C;
}

export function configHash(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}

/** Top-level fields whose values differ, as "field: old -> new". */
export function differences(old: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
  return keys
    .filter((k) => canonicalJson(old[k]) !== canonicalJson(now[k]))
    .map(
      (k) => `${k}: ${canonicalJson(old[k]) ?? "(none)"} -> ${canonicalJson(now[k]) ?? "(none)"}`,
    );
}

/** Parses a JSONL file's complete lines; a last line without its newline is torn and left out. */
export function parseRecords(
  text: string,
  path: string,
): { records: EvalRecord[]; validBytes: number } {
  const records: EvalRecord[] = [];
  let start = 0;
  let line = 1;
  for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start), line++) {
    const body = text.slice(start, end);
    try {
      records.push(JSON.parse(body) as EvalRecord);
    } catch {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `Results file "${path}" is corrupt at line ${line} (not a JSON record); it was not written by an interrupted run. Move it away to start over.`,
      );
    }
    start = end + 1;
  }
  return { records, validBytes: Buffer.byteLength(text.slice(0, start)) };
}

/** The dataset a run folder is opened for (see ./dataset-identity.ts). */
export interface StoreDataset {
  /** Every record's annotation digest, in dataset order. */
  entries: ManifestEntry[];
  /** The ids of the records this run evaluates: their images are hashed and checked. */
  evaluate: ReadonlySet<string>;
}

export interface OpenResult<C extends Record<string, unknown>> {
  store: RunStore<C>;
  droppedTornLine: boolean;
  /** Image files hashed (the others' digests were still valid). */
  hashed: number;
}

export class RunStore<C extends Record<string, unknown>> {
  readonly dir: string;
  readonly config: C;
  private readonly done = new Set<string>();
  private readonly stored: EvalRecord[];
  private readonly lock: RunLock;

  private constructor(dir: string, config: C, records: EvalRecord[], lock: RunLock) {
    this.dir = dir;
    this.config = config;
    this.stored = records;
    this.lock = lock;
    for (const r of records) this.done.add(recordKey(r.image, r.method));
  }

  /**
   * Opens `dir` for `config`: creates it (and config.json) if new, else checks that it was made
   * with the same configuration (and data) and loads its records, dropping a torn last line. The
   * folder stays locked until close(); a folder another live process holds is refused
   * (RUN_IN_USE).
   */
  static async open<C extends Record<string, unknown>>(
    dir: string,
    config: C,
    options: { dataset?: StoreDataset } = {},
  ): Promise<OpenResult<C>> {
    if (typeof dir !== "string" || dir === "") {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `The run folder must be a non-empty path, got ${describe(dir)}`,
      );
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `The run configuration must be an object, got ${describe(config)}`,
      );
    }
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw await outputError(error, dir);
    }
    const lock = await RunLock.acquire(dir);
    try {
      const { records, droppedTornLine, hashed } = await RunStore.load(dir, config, options);
      return { store: new RunStore(dir, config, records, lock), droppedTornLine, hashed };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  private static async load<C extends Record<string, unknown>>(
    dir: string,
    config: C,
    options: { dataset?: StoreDataset },
  ): Promise<{ records: EvalRecord[]; droppedTornLine: boolean; hashed: number }> {
    const configPath = join(dir, CONFIG_FILE);
    const recordsPath = join(dir, RECORDS_FILE);
    const hash = configHash(config);
    const existing = await readText(configPath);
    const manifest = await readManifest(dir);
    if (existing === undefined) {
      const text = `${JSON.stringify({ version: 1, hash, config } satisfies StoredConfig<C>, null, 2)}\n`;
      // Written whole under a temporary name, so a kill leaves either no config or a complete one.
      await replaceOutputFile(configPath, text);
    } else {
      const old = parseConfig<C>(existing, configPath);
      if (old.hash !== hash) {
        const diff = differences(old.config, config);
        // Data changed under the same file names: name the record rather than two hashes.
        const changed =
          options.dataset && manifest && diff.some((d) => d.startsWith("dataset:"))
            ? annotationChange(manifest.records, options.dataset.entries)
            : undefined;
        throw new CamscopeError(
          "RUN_MISMATCH",
          changed
            ? `"${dir}" was made from other data: ${changed}; its old results are not mixed with new ones`
            : `"${dir}" holds results of a different configuration (${diff.join("; ") || "same fields, different hash"}); they are not mixed with new ones`,
          { hint: `use a new --out folder, or delete "${dir}" to start over` },
        );
      }
    }
    let hashed = 0;
    if (options.dataset) {
      const checked = await checkContent(
        dir,
        manifest,
        options.dataset.entries,
        options.dataset.evaluate,
      );
      hashed = checked.hashed;
      await writeManifest(dir, checked.manifest);
    }
    const text = (await readText(recordsPath)) ?? "";
    const { records, validBytes } = parseRecords(text, recordsPath);
    const torn = validBytes < Buffer.byteLength(text);
    // Cut the torn tail now, or the next append would glue a record onto it.
    if (torn) {
      await truncate(recordsPath, validBytes).catch(async (error: unknown) => {
        throw await outputError(error, recordsPath);
      });
    }
    return { records, droppedTornLine: torn, hashed };
  }

  has(image: string, method: string): boolean {
    return this.done.has(recordKey(image, method));
  }

  /** Every record stored so far, in the order written. */
  records(): readonly EvalRecord[] {
    return this.stored;
  }

  /**
   * Appends the records not stored yet as one write, then fsyncs; only after that do they count
   * as done. Returns how many were new.
   */
  async append(records: readonly EvalRecord[]): Promise<number> {
    const fresh: EvalRecord[] = [];
    const keys = new Set<string>();
    for (const r of records) {
      const key = recordKey(r.image, r.method);
      if (this.done.has(key) || keys.has(key)) continue;
      keys.add(key);
      fresh.push(r);
    }
    if (fresh.length === 0) return 0;
    const path = join(this.dir, RECORDS_FILE);
    try {
      const file = await open(path, "a");
      try {
        await file.write(fresh.map((r) => `${JSON.stringify(r)}\n`).join(""));
        await file.sync();
      } finally {
        await file.close();
      }
    } catch (error) {
      throw await outputError(error, path);
    }
    for (const key of keys) this.done.add(key);
    this.stored.push(...fresh);
    return fresh.length;
  }

  /** Lets go of the folder (its lock); the store must not be appended to afterwards. */
  async close(): Promise<void> {
    await this.lock.release();
  }
}

/** The configuration and records of a finished (or interrupted) run folder, for reports. */
export async function readRun<C>(dir: string): Promise<{ config: C; records: EvalRecord[] }> {
  const configPath = join(dir, CONFIG_FILE);
  const text = await readText(configPath, true);
  if (text === undefined) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `"${dir}" is not an evaluation run folder: it has no ${CONFIG_FILE} (make one with camscope evaluate --out ${dir})`,
    );
  }
  const { config } = parseConfig<C>(text, configPath);
  const recordsPath = join(dir, RECORDS_FILE);
  const { records } = parseRecords((await readText(recordsPath)) ?? "", recordsPath);
  return { config, records };
}

function parseConfig<C>(text: string, path: string): StoredConfig<C> {
  try {
    const parsed = JSON.parse(text) as StoredConfig<C>;
    if (parsed.version === 1 && typeof parsed.hash === "string" && parsed.config) return parsed;
  } catch {
    // Reported below.
  }
  throw new CamscopeError(
    "INVALID_ARGUMENT",
    `"${path}" is not a camscope evaluation configuration; use a new --out folder`,
  );
}

/**
 * A run file's text, undefined if it does not exist (or, with `missingFolder`, if its folder is
 * not a folder); anything but a regular file is an error naming it.
 */
async function readText(path: string, missingFolder = false): Promise<string | undefined> {
  const read = await readRegularFile(path, TEXT_FILE_LIMIT);
  if ("bytes" in read) return read.bytes.toString("utf8");
  if (read.reason === "file not found") return undefined;
  if (missingFolder && read.reason.includes("ENOTDIR")) return undefined;
  throw new CamscopeError("INVALID_ARGUMENT", `Cannot read run file "${path}": ${read.reason}`);
}
