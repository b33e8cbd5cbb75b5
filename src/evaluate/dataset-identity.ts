// What a run's dataset is, beyond its file names: a digest of each record's annotations (label,
// boxes, the segmentation its mask comes from) and a SHA-256 of each image file's bytes. The
// annotation digests of all records go into the configuration's hash; the image digests of the
// records a run evaluates are kept in the run folder's dataset.json and checked on every resume,
// so that new pixels or boxes under the same names are refused, naming the file, instead of mixed
// into the old records.
//
// Cost: images are hashed as streams (a 1 MiB buffer per file in flight), once per run folder.
// dataset.json also keeps each file's size, mtime, ctime and inode; a resume re-hashes only files
// whose four values changed. ctime cannot be set back by a user (touch -r, cp -p, utimes set
// mtime but move ctime to now), so an edited file is always re-hashed, while an untouched
// dataset costs one stat per file.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { CamscopeError } from "../errors.ts";
import { replaceOutputFile } from "../util/files.ts";
import { canonicalJson } from "./canonical-json.ts";

export const DATASET_FILE = "dataset.json";
const HASH_CONCURRENCY = 4;
const BUFFER = 2 ** 20;

/** The parts of a dataset record that decide its results. */
export interface IdentityRecord {
  id: string;
  file: string;
  label?: number;
  boxes?: readonly unknown[];
  maskSource?: unknown;
}

export interface FileContent {
  sha256: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface ManifestEntry {
  id: string;
  file: string;
  /** SHA-256 of the record's annotations. */
  annotations: string;
  /** The image file's digest, for records a run has evaluated. */
  content?: FileContent;
}

export interface DatasetManifest {
  version: 1;
  records: ManifestEntry[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** SHA-256 of a record's annotations (id, file, label, boxes, mask source). */
export function annotationDigest(record: IdentityRecord): string {
  return sha256(
    canonicalJson({
      id: record.id,
      file: record.file,
      label: record.label ?? null,
      boxes: record.boxes ?? null,
      mask: record.maskSource ?? null,
    }),
  );
}

/** The manifest entries of a dataset's records (annotations only), in dataset order. */
export function manifestEntries(records: readonly IdentityRecord[]): ManifestEntry[] {
  return records.map((r) => ({ id: r.id, file: r.file, annotations: annotationDigest(r) }));
}

/** SHA-256 over every record's annotation digest, in order: the configuration's dataset hash. */
export function annotationsHash(entries: readonly ManifestEntry[]): string {
  const hash = createHash("sha256");
  for (const e of entries) hash.update(`${e.id}\t${e.annotations}\n`);
  return hash.digest("hex");
}

/** A file's SHA-256 read as a stream, with the stat values the cache compares. */
export async function hashFile(path: string): Promise<FileContent> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((error) => {
    throw new CamscopeError(
      "RUN_MISMATCH",
      `Cannot read dataset image "${path}": ${(error as Error).message}`,
    );
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `Dataset image "${path}" is no longer a regular file`,
      );
    }
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(BUFFER);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, BUFFER, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return {
      sha256: hash.digest("hex"),
      size: info.size,
      mtimeMs: info.mtimeMs,
      ctimeMs: info.ctimeMs,
      ino: info.ino,
    };
  } finally {
    await handle.close();
  }
}

async function statKey(path: string): Promise<string | undefined> {
  const i = await stat(path).catch(() => undefined);
  return i && `${i.size}/${i.mtimeMs}/${i.ctimeMs}/${i.ino}`;
}

const keyOf = (c: FileContent) => `${c.size}/${c.mtimeMs}/${c.ctimeMs}/${c.ino}`;

/**
 * The digests of `files`, re-hashing only those whose size, mtime, ctime or inode differ from
 * the `cached` entry of the same path.
 */
export async function contentDigests(
  files: readonly string[],
  cached: ReadonlyMap<string, FileContent>,
): Promise<{ digests: Map<string, FileContent>; hashed: number }> {
  const unique = [...new Set(files)];
  const digests = new Map<string, FileContent>();
  let hashed = 0;
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const file = unique[next++]!;
      const old = cached.get(file);
      if (old && (await statKey(file)) === keyOf(old)) {
        digests.set(file, old);
      } else {
        digests.set(file, await hashFile(file));
        hashed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, unique.length) }, worker));
  return { digests, hashed };
}

export async function readManifest(dir: string): Promise<DatasetManifest | undefined> {
  const path = join(dir, DATASET_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CamscopeError("RUN_MISMATCH", `Cannot read "${path}": ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as DatasetManifest;
    if (parsed.version === 1 && Array.isArray(parsed.records)) return parsed;
  } catch {
    // Reported below.
  }
  throw new CamscopeError(
    "RUN_MISMATCH",
    `"${path}" is not a camscope dataset manifest; use a new --out folder`,
  );
}

export async function writeManifest(dir: string, manifest: DatasetManifest): Promise<void> {
  // Whole or not at all: a kill leaves the old manifest or the new one.
  await replaceOutputFile(join(dir, DATASET_FILE), `${JSON.stringify(manifest)}\n`);
}

function recordName(e: ManifestEntry): string {
  return `record "${e.id}" (image "${e.file}")`;
}

/** Which record's annotations differ between two manifests, in words; undefined if none. */
export function annotationChange(
  old: readonly ManifestEntry[],
  now: readonly ManifestEntry[],
): string | undefined {
  const before = new Map(old.map((e) => [e.id, e]));
  const after = new Map(now.map((e) => [e.id, e]));
  for (const e of now) {
    const o = before.get(e.id);
    if (!o) return `${recordName(e)} is new`;
    if (o.file !== e.file) return `record "${e.id}" now reads "${e.file}" instead of "${o.file}"`;
    if (o.annotations !== e.annotations) {
      return `the annotations of ${recordName(e)} changed (label, boxes or mask)`;
    }
  }
  for (const o of old) if (!after.has(o.id)) return `${recordName(o)} is gone`;
  return undefined;
}

/**
 * Checks the image digests of the records in `evaluate` (ids) against those stored in `old`, and
 * returns the manifest to store: the current annotations, with the digests of every record
 * evaluated so far. A changed image throws RUN_MISMATCH naming the file.
 */
export async function checkContent(
  runDir: string,
  old: DatasetManifest | undefined,
  now: readonly ManifestEntry[],
  evaluate: ReadonlySet<string>,
): Promise<{ manifest: DatasetManifest; hashed: number }> {
  const oldById = new Map((old?.records ?? []).map((e) => [e.id, e]));
  const cached = new Map<string, FileContent>();
  for (const e of old?.records ?? []) if (e.content) cached.set(e.file, e.content);
  const wanted = now.filter((e) => evaluate.has(e.id) || oldById.get(e.id)?.content);
  const { digests, hashed } = await contentDigests(
    wanted.map((e) => e.file),
    cached,
  );
  const checked = new Set(wanted);
  for (const e of wanted) {
    const before = oldById.get(e.id)?.content;
    const current = digests.get(e.file)!;
    if (before && before.sha256 !== current.sha256) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `"${runDir}" was made from other data: image "${e.file}" (record "${e.id}") changed since the run began (its bytes differ); its old results are not mixed with new ones`,
        { hint: `use a new --out folder, or delete "${runDir}" to start over` },
      );
    }
  }
  return {
    manifest: {
      version: 1,
      records: now.map((e) => {
        const content = digests.get(e.file);
        return checked.has(e) && content ? { ...e, content } : e;
      }),
    },
    hashed,
  };
}
