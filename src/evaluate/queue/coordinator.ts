// The coordinator of a queued run: it enqueues one BullMQ job per batch that still lacks records,
// moves the records workers store (./run-state.ts) into its run folder, and ends when the folder
// holds every record of the run, or when every batch still missing has a job that failed for good.
//
// The run folder is the run's durable copy, written by the coordinator alone (it holds the
// folder's lock and the run's lease); Redis holds working state. Each poll reads the stream of
// stored records, appends them to the folder (fsync'ed, examples written first) and only then
// deletes them from the stream, so a coordinator killed at any point loses nothing: a rerun finds
// the records in the folder or still in the stream. Every few seconds a sweep looks at the batches
// still missing records and gives each one a job unless it has a live one: a batch whose job
// completed but whose records are not all here (its stream entries were consumed elsewhere or
// lost with Redis' data) has its done marks cleared and is computed again.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { JobsOptions, Queue } from "bullmq";
import { outputError } from "../../util/files.ts";
import { recordKey, type EvalRecord, type RecordSink } from "../records.ts";
import { batchCount } from "../shards.ts";
import type { CoordinatorLease } from "./lease.ts";
import type { RunMeta, RunState } from "./run-state.ts";

/** A job: one batch of a run, with the SHA-256 of each of its images the coordinator hashed. */
export interface BatchJob {
  run: string;
  batch: number;
  images: { id: string; sha256?: string }[];
}

/** What a worker reports for a job. */
export interface BatchResult {
  written: number;
  resumed: number;
  failed: number;
  flagged: number;
  /** Why nothing was done (the run is no longer in the queue). */
  skipped?: string;
}

export const JOB_NAME = "batch";

/**
 * A failing job is tried 3 times, 2 s apart; completed jobs are deleted (a batch's records are
 * what counts), failed ones kept for --status and the coordinator's report.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: "fixed", delay: 2000 },
  removeOnComplete: true,
  removeOnFail: false,
};

/** The job id of a batch: one job per (run, batch) at a time, whatever adds it. */
export function jobId(run: string, batch: number): string {
  return `${run.slice(0, 16)}-${batch}`;
}

export interface CoordinateOptions {
  queue: Queue<BatchJob, BatchResult>;
  state: RunState;
  /** The run as workers read it; published now and again whenever Redis has lost it. */
  meta: RunMeta;
  lease: CoordinatorLease;
  /** The run folder's store (./../store.ts), opened by the caller. */
  store: RecordSink & { records(): readonly EvalRecord[] };
  items: readonly { id: string; file: string }[];
  methods: readonly string[];
  batchSize: number;
  /** Image digests by id (the run folder's dataset.json). */
  digests: ReadonlyMap<string, string>;
  pollMs?: number;
  sweepMs?: number;
  log?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface CoordinateResult {
  /** Images a worker could not read (they have no records). */
  failed: { image: string; file: string; error: string }[];
  /** Batches whose job failed for good, with the job's last error. */
  failedBatches: { batch: number; reason: string }[];
  /** Records read from the stream / of those, records the folder already held. */
  received: number;
  alreadyStored: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function coordinate(o: CoordinateOptions): Promise<CoordinateResult> {
  const { state, store, items, methods, batchSize } = o;
  const pollMs = o.pollMs ?? 500;
  const sweepMs = o.sweepMs ?? 5000;
  const failedImages = new Map<string, { file: string; error: string }>();
  const result: CoordinateResult = { failed: [], failedBatches: [], received: 0, alreadyStored: 0 };
  const batches = batchCount(items.length, batchSize);
  const total = items.length * methods.length;
  const ids = new Set(items.map((i) => i.id));
  let done = store.records().filter((r) => ids.has(r.image)).length;
  const progress = () => o.onProgress?.(done, total);

  /** The record keys batch k still lacks (images that could not be read excepted). */
  const missing = (k: number): string[] =>
    items
      .slice(k * batchSize, (k + 1) * batchSize)
      .filter((item) => !failedImages.has(item.id))
      .flatMap((item) =>
        methods.filter((m) => !store.has(item.id, m)).map((m) => recordKey(item.id, m)),
      );

  /** Moves every stored record from the stream into the run folder. */
  const drain = async (session: boolean) => {
    for (;;) {
      o.lease.check();
      const entries = await state.read(500);
      if (entries.length === 0) return;
      const fresh: EvalRecord[] = [];
      const keys = new Set<string>();
      for (const e of entries) {
        if (e.kind === "failed") {
          // Failures of an earlier coordinator's session are tried again, not reported.
          if (session && !failedImages.has(e.image)) {
            failedImages.set(e.image, { file: e.file, error: e.error });
            result.failed.push({ image: e.image, file: e.file, error: e.error });
            o.log?.(`skipped ${e.image}: ${e.error}`);
          }
          continue;
        }
        result.received++;
        const key = recordKey(e.record.image, e.record.method);
        if (store.has(e.record.image, e.record.method) || keys.has(key)) {
          result.alreadyStored++;
          continue;
        }
        if (e.example) await writeExample(join(store.dir, e.example.path), e.example.png);
        keys.add(key);
        fresh.push(e.record);
      }
      await store.append(fresh);
      done += fresh.filter((r) => ids.has(r.image)).length;
      progress();
      await state.acknowledge(entries.map((e) => e.id));
    }
  };

  const add = (k: number) =>
    o.queue.add(
      JOB_NAME,
      {
        run: state.hash,
        batch: k,
        images: items.slice(k * batchSize, (k + 1) * batchSize).map((item) => {
          const sha256 = o.digests.get(item.id);
          return sha256 ? { id: item.id, sha256 } : { id: item.id };
        }),
      },
      { ...JOB_OPTIONS, jobId: jobId(state.hash, k) },
    );

  /** Gives every incomplete batch a live job; returns the batches whose job failed for good. */
  const sweep = async (incomplete: number[], first: boolean) => {
    // A Redis that lost its data (restarted without its files, flushed) lost the run too: workers
    // would skip every job as "no longer in the queue" while this coordinator waits for them.
    if (!first && !(await state.hasMeta())) {
      o.log?.("queue: the run is gone from Redis (its data was lost); publishing it again");
      await state.writeMeta(o.meta);
    }
    const wanted = incomplete.flatMap(missing);
    const marked = await state.done(wanted);
    const markedBefore = new Set(wanted.filter((_, i) => marked[i]));
    await drain(true);
    const jobs = await Promise.all(incomplete.map((k) => o.queue.getJob(jobId(state.hash, k))));
    const states = await Promise.all(jobs.map((j) => j?.getState()));
    const failedBatches: CoordinateResult["failedBatches"] = [];
    for (const [i, k] of incomplete.entries()) {
      const keys = missing(k);
      if (keys.length === 0) continue;
      const job = jobs[i];
      const jobState = states[i];
      // Marked done before the drain, yet not in the folder after it: the stream entry went
      // elsewhere (another coordinator's folder) or was lost; compute it again.
      const orphans = keys.filter((key) => markedBefore.has(key));
      if (orphans.length > 0) await state.unmark(orphans);
      if (jobState === "failed" && !first) {
        failedBatches.push({ batch: k, reason: job?.failedReason ?? "unknown" });
        continue;
      }
      if (job && jobState !== "completed" && jobState !== "failed" && jobState !== "unknown") {
        continue; // waiting, delayed or active
      }
      if (orphans.length === 0 && (await state.done(keys)).every(Boolean)) {
        continue; // Finished since the drain: its records are in the stream.
      }
      if (job) await job.remove().catch(() => undefined);
      await add(k);
    }
    return failedBatches;
  };

  await state.writeMeta(o.meta);
  // Records an earlier session's workers stored go in first; its failed images are tried again.
  await drain(false);
  await state.clearFailures();
  await state.markDone(
    store
      .records()
      .filter((r) => ids.has(r.image))
      .map((r) => recordKey(r.image, r.method)),
  );
  progress();
  let incomplete = Array.from({ length: batches }, (_, k) => k);
  let lastSweep = 0;
  let first = true;
  for (;;) {
    incomplete = incomplete.filter((k) => missing(k).length > 0);
    if (incomplete.length === 0) break;
    if (first || Date.now() - lastSweep >= sweepMs) {
      const failedBatches = await sweep(incomplete, first);
      first = false;
      lastSweep = Date.now();
      incomplete = incomplete.filter((k) => missing(k).length > 0);
      if (incomplete.length > 0 && failedBatches.length === incomplete.length) {
        result.failedBatches = failedBatches;
        break;
      }
    }
    await sleep(pollMs);
    await drain(true);
  }
  return result;
}

async function writeExample(path: string, png: Buffer): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, png);
  } catch (error) {
    throw await outputError(error, path);
  }
}

/** Deletes the jobs of a run left in the queue (waiting ones a finished run no longer needs). */
export async function removeRunJobs(
  queue: Queue<BatchJob, BatchResult>,
  run: string,
): Promise<void> {
  const jobs = await queue.getJobs(["wait", "delayed", "prioritized", "failed"]);
  await Promise.all(
    jobs.filter((j) => j?.data?.run === run).map((j) => j.remove().catch(() => undefined)),
  );
}
