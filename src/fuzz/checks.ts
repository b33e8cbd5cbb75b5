// Checks of results the fuzz cases expect to succeed: the files written hold what they should
// (every map finite and in range, every record stored once, tables over the right records).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeNpy } from "../tensor/npy.ts";
import type { MapsIndex } from "../cli/explain-output.ts";
import type { EvalRecord } from "../evaluate/records.ts";
import type { Observation } from "./types.ts";

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** What is wrong with an explain output folder, if anything: every listed map must be finite and
 *  in [0, 1] (signed: [-1, 1]), and `images` images explained. */
export async function explainOutputProblem(
  out: string,
  images: number,
): Promise<string | undefined> {
  const index = await readJson<MapsIndex>(join(out, "maps.json"));
  if (!index) return `no readable ${join(out, "maps.json")}`;
  if (index.images.length !== images) {
    return `${index.images.length} images explained, expected ${images}`;
  }
  const signed = new Set(index.methods.filter((m) => m.signed).map((m) => m.name));
  for (const image of index.images) {
    for (const target of image.targets) {
      if (!Number.isFinite(target.score)) return `score of ${image.image} is ${target.score}`;
      for (const [method, files] of Object.entries(target.maps)) {
        const map = decodeNpy(await readFile(join(out, files.map)));
        const bad = firstNonFinite(map.data);
        if (bad >= 0) return `${files.map} holds ${map.data[bad]} at ${bad}`;
        const lo = signed.has(method) ? -1 : 0;
        const outside = map.data.findIndex((v) => v < lo - 1e-6 || v > 1 + 1e-6);
        if (outside >= 0) return `${files.map} holds ${map.data[outside]}, outside [${lo}, 1]`;
        for (const raw of files.raw) {
          const r = decodeNpy(await readFile(join(out, raw)));
          const badRaw = firstNonFinite(r.data);
          if (badRaw >= 0) return `${raw} holds ${r.data[badRaw]} at ${badRaw}`;
        }
      }
    }
  }
  return undefined;
}

export async function readRecords(dir: string): Promise<EvalRecord[]> {
  try {
    const text = await readFile(join(dir, "records.jsonl"), "utf8");
    return text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as EvalRecord);
  } catch {
    return [];
  }
}

/** A record without what legitimately varies between runs (timing). */
export function comparable(r: EvalRecord): string {
  return JSON.stringify({ ...r, cost: { ...r.cost, milliseconds: 0 } });
}

/** Whether `dir` holds each of `expected` exactly once (timings aside), and nothing else. */
export async function recordsProblem(
  dir: string,
  expected: readonly EvalRecord[],
): Promise<string | undefined> {
  const records = await readRecords(dir);
  const seen = new Map<string, number>();
  for (const r of records) {
    const key = `${r.image}\u0000${r.method}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const duplicated = [...seen].filter(([, n]) => n > 1);
  if (duplicated.length > 0) {
    return `${duplicated.length} records stored more than once (e.g. ${duplicated[0]![0].replace("\u0000", " ")} x${duplicated[0]![1]})`;
  }
  if (records.length !== expected.length) {
    return `${records.length} records stored, expected ${expected.length}`;
  }
  const want = new Map(expected.map((r) => [`${r.image}\u0000${r.method}`, comparable(r)]));
  for (const r of records) {
    const w = want.get(`${r.image}\u0000${r.method}`);
    if (w === undefined) return `unexpected record ${r.image} ${r.method}`;
    if (w !== comparable(r))
      return `record ${r.image} ${r.method} differs from the uninterrupted run`;
  }
  return undefined;
}

/** Every row's n in summary.json, by method and column. */
export async function summaryCounts(dir: string): Promise<Map<string, number> | undefined> {
  const summary = await readJson<{ rows: { method: string; column: string; n: number }[] }>(
    join(dir, "summary.json"),
  );
  if (!summary) return undefined;
  return new Map(summary.rows.map((r) => [`${r.method}/${r.column}`, r.n]));
}

/** The stdout of a CLI run. */
export function stdoutOf(observed: Observation): string {
  return observed.kind === "cli" ? observed.stdout : "";
}
