// The CLI as child processes, for tests that kill them (SIGKILL) or run several at once, a dataset
// of copies of the samples for runs long enough to be interrupted, and the comparison of two run
// folders record by record.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EvalRecord } from "../../evaluate/records.ts";
import type { RunTables } from "../../evaluate/tables.ts";

const BIN = fileURLToPath(new URL("../../../bin/camscope.js", import.meta.url));
const SAMPLES = fileURLToPath(new URL("../../../samples/", import.meta.url));

/**
 * The bundled samples (7 records) `copies` times over in `dir` (images star-0.png, star-1.png,
 * ...; ids offset by 1000 per copy); returns the annotations' path.
 */
export async function writeSampleCopies(dir: string, copies: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const coco = JSON.parse(await readFile(join(SAMPLES, "annotations.json"), "utf8")) as {
    images: { id: number; file_name: string }[];
    annotations: { id: number; image_id: number }[];
  };
  const images = [];
  const annotations = [];
  for (let k = 0; k < copies; k++) {
    for (const image of coco.images) {
      const name = image.file_name.replace(/\.png$/, `-${k}.png`);
      await copyFile(join(SAMPLES, image.file_name), join(dir, name));
      images.push({ ...image, id: image.id + 1000 * k, file_name: name });
    }
    for (const a of coco.annotations) {
      annotations.push({ ...a, id: a.id + 1000 * k, image_id: a.image_id + 1000 * k });
    }
  }
  const path = join(dir, "annotations.json");
  await writeFile(path, JSON.stringify({ ...coco, images, annotations }));
  return path;
}

export interface CliProcess {
  child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Starts `camscope <args>`; `group` makes it the leader of a process group of its own, so that
 * killGroup ends it with every process it started (a worker's job processes).
 */
export function startCamscope(
  args: readonly string[],
  options: { group?: boolean } = {},
): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: options.group ?? false,
  });
  let err = "";
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { child, stderr: () => err, exited };
}

/** SIGKILLs a process started with `group` and everything in its group. */
export async function killGroup(p: CliProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  process.kill(-p.child.pid!, "SIGKILL");
  await p.exited;
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function lineCount(path: string): Promise<number> {
  try {
    return (await readFile(path, "utf8")).split("\n").length - 1;
  } catch {
    return 0;
  }
}

/** A run folder's records in file order, with the wall time (which differs per run) set to 0. */
export async function recordsWithoutTime(dir: string): Promise<EvalRecord[]> {
  const text = await readFile(join(dir, "records.jsonl"), "utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const r = JSON.parse(l) as EvalRecord;
      return { ...r, cost: { ...r.cost, milliseconds: 0 } };
    });
}

/** Records by "image/method"; fails on a duplicate. */
export function byKey(records: readonly EvalRecord[]): Map<string, EvalRecord> {
  const map = new Map<string, EvalRecord>();
  for (const r of records) {
    const key = `${r.image}/${r.method}`;
    assert.ok(!map.has(key), `duplicate record ${key}`);
    map.set(key, r);
  }
  return map;
}

/**
 * Asserts that run folder `actual` holds what `expected` holds: every record (by key, or in the
 * same order with `ordered`), the tables but for wall time, Win% and the example overlays'
 * bytes.
 */
export async function assertSameRun(
  actual: string,
  expected: string,
  options: { ordered?: boolean } = {},
): Promise<void> {
  const a = await recordsWithoutTime(actual);
  const e = await recordsWithoutTime(expected);
  if (options.ordered) assert.deepEqual(a, e);
  else assert.deepEqual(byKey(a), byKey(e));
  const tables = async (dir: string) => {
    const t = JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as RunTables;
    return { ...t, rows: t.rows.filter((r) => r.column !== "milliseconds") };
  };
  assert.deepEqual(await tables(actual), await tables(expected));
  assert.equal(
    await readFile(join(actual, "wins.csv"), "utf8"),
    await readFile(join(expected, "wins.csv"), "utf8"),
  );
  for (const method of await readdir(join(expected, "examples"))) {
    for (const file of await readdir(join(expected, "examples", method))) {
      const path = join("examples", method, file);
      assert.ok(
        (await readFile(join(actual, path))).equals(await readFile(join(expected, path))),
        path,
      );
    }
  }
}
