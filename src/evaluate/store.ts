// The run folder's persistence. Records go to an append-only JSONL file, one line per finished
// (image, method), each batch of lines written in one call and fsync'ed before the runner counts
// it as done; a kill -9 can therefore only tear the last line, which opening the store drops (and
// truncates away) so that the record is recomputed. config.json holds the configuration and its
// hash: a rerun with the same configuration resumes, a different one is refused rather than mixed
// into the old records.
import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CamscopeError } from "../errors.ts";
import { recordKey, type EvalRecord } from "./records.ts";

export const CONFIG_FILE = "config.json";
export const RECORDS_FILE = "records.jsonl";

export interface StoredConfig<C> {
  version: 1;
  hash: string;
  config: C;
}

/** JSON with object keys sorted at every level, so equal configurations hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

export function configHash(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}

/** Top-level fields whose values differ, as "field: old -> new". */
function differences(old: Record<string, unknown>, now: Record<string, unknown>): string[] {
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

export class RunStore<C extends Record<string, unknown>> {
  readonly dir: string;
  readonly config: C;
  private readonly done = new Set<string>();
  private readonly stored: EvalRecord[];

  private constructor(dir: string, config: C, records: EvalRecord[]) {
    this.dir = dir;
    this.config = config;
    this.stored = records;
    for (const r of records) this.done.add(recordKey(r.image, r.method));
  }

  /**
   * Opens `dir` for `config`: creates it (and config.json) if new, else checks that it was made
   * with the same configuration and loads its records, dropping a torn last line.
   */
  static async open<C extends Record<string, unknown>>(
    dir: string,
    config: C,
  ): Promise<{ store: RunStore<C>; droppedTornLine: boolean }> {
    await mkdir(dir, { recursive: true });
    const configPath = join(dir, CONFIG_FILE);
    const recordsPath = join(dir, RECORDS_FILE);
    const hash = configHash(config);
    const existing = await readText(configPath);
    if (existing === undefined) {
      const text = `${JSON.stringify({ version: 1, hash, config } satisfies StoredConfig<C>, null, 2)}\n`;
      // Written whole under a temporary name, so a kill leaves either no config or a complete one.
      await writeFile(`${configPath}.tmp`, text, { flush: true });
      await rename(`${configPath}.tmp`, configPath);
    } else {
      const old = parseConfig<C>(existing, configPath);
      if (old.hash !== hash) {
        const diff = differences(old.config, config);
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `"${dir}" holds results of a different configuration (${diff.join("; ") || "same fields, different hash"}); ` +
            `they are not mixed with new ones. Use a new --out folder, or delete "${dir}" to start over.`,
        );
      }
    }
    const text = (await readText(recordsPath)) ?? "";
    const { records, validBytes } = parseRecords(text, recordsPath);
    const torn = validBytes < Buffer.byteLength(text);
    // Cut the torn tail now, or the next append would glue a record onto it.
    if (torn) await truncate(recordsPath, validBytes);
    return { store: new RunStore(dir, config, records), droppedTornLine: torn };
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
    for (const r of records) {
      const key = recordKey(r.image, r.method);
      if (this.done.has(key)) continue;
      this.done.add(key);
      fresh.push(r);
    }
    if (fresh.length === 0) return 0;
    const file = await open(join(this.dir, RECORDS_FILE), "a");
    try {
      await file.write(fresh.map((r) => `${JSON.stringify(r)}\n`).join(""));
      await file.sync();
    } finally {
      await file.close();
    }
    this.stored.push(...fresh);
    return fresh.length;
  }
}

/** The configuration and records of a finished (or interrupted) run folder, for reports. */
export async function readRun<C>(dir: string): Promise<{ config: C; records: EvalRecord[] }> {
  const configPath = join(dir, CONFIG_FILE);
  const text = await readText(configPath);
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

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
