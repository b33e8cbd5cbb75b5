// What a `camscope worker` runs for each job, in a child process of its own (a BullMQ sandboxed
// processor, ./worker.ts): one batch of a queued run, evaluated by the same runner a local run
// uses, its records stored in the run's Redis state. A child keeps the last run it prepared
// (model sessions, warmed-up methods, the sanity cascade), so consecutive jobs of one run pay the
// set-up once.
//
// Before its first job of a run a child rebuilds the run's configuration from the coordinator's
// options with its own model file and dataset, and refuses the run (RUN_MISMATCH) if the hash
// differs; before every job it hashes the batch's image files and compares them with the
// coordinator's digests.
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { SandboxedJob } from "bullmq";
import type { Redis } from "ioredis";
import type { DatasetRecord } from "../data/dataset.ts";
import { CamscopeError } from "../errors.ts";
import type { EvaluateConfig } from "../evaluate/config.ts";
import { hashFile } from "../evaluate/dataset-identity.ts";
import { connectQueue } from "../evaluate/queue/connection.ts";
import type { BatchJob, BatchResult } from "../evaluate/queue/coordinator.ts";
import { RunState } from "../evaluate/queue/run-state.ts";
import { QueueSink } from "../evaluate/queue/sink.ts";
import { runEvaluation, type RunCache } from "../evaluate/runner.ts";
import { configHash, differences } from "../evaluate/store.ts";
import {
  prepareEvaluation,
  runOptionsOf,
  type PreparedEvaluation,
  type RunDefinition,
} from "./evaluate-setup.ts";
import { processIo } from "./io.ts";
import { QUEUE_ENV, THREADS_ENV } from "./worker-env.ts";

// The worker process is this child's only reason to run: when it is gone (killed), stop at once;
// the job's lock then expires and another worker takes the job.
if (process.send) process.on("disconnect", () => process.exit(1));

const scratch = mkdtempSync(join(tmpdir(), "camscope-worker-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));

let redis: Redis | undefined;
let current: { hash: string; prepared: PreparedEvaluation; cache: RunCache } | undefined;

async function prepared(state: RunState): Promise<PreparedEvaluation | undefined> {
  if (current?.hash === state.hash) return current.prepared;
  const meta = await state.readMeta<RunDefinition>();
  if (!meta) return undefined;
  await current?.prepared.engine.dispose();
  current = undefined;
  const threads = process.env[THREADS_ENV] ? Number(process.env[THREADS_ENV]) : undefined;
  const run = await prepareEvaluation(
    { ...meta.definition, ...(threads ? { threads } : {}) },
    processIo,
  );
  if (configHash(run.config) !== state.hash) {
    await run.engine.dispose();
    const diff = differences(meta.config, run.config as EvaluateConfig).join("; ");
    throw new CamscopeError(
      "RUN_MISMATCH",
      `This worker (${hostname()}) cannot take run ${state.hash.slice(0, 12)}: its configuration differs here (${diff || "same fields, different hash"}); workers must see the coordinator's model and dataset at the same paths`,
    );
  }
  current = { hash: state.hash, prepared: run, cache: { warmed: new Set() } };
  return run;
}

/** The batch's image files must be the bytes the coordinator hashed. */
async function checkImages(items: readonly DatasetRecord[], job: BatchJob): Promise<void> {
  const byId = new Map(items.map((i) => [i.id, i]));
  for (const image of job.images) {
    const item = byId.get(image.id);
    if (!item) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `This worker (${hostname()}) has no dataset record "${image.id}" of batch ${job.batch}`,
      );
    }
    if (!image.sha256) continue;
    const content = await hashFile(item.file);
    if (content.sha256 !== image.sha256) {
      throw new CamscopeError(
        "RUN_MISMATCH",
        `This worker (${hostname()}) reads other bytes in image "${item.file}" (record "${item.id}") than the coordinator hashed; workers must share the dataset's files`,
      );
    }
  }
}

export default async function processBatch(
  job: SandboxedJob<BatchJob, BatchResult>,
): Promise<BatchResult> {
  redis ??= await connectQueue(process.env[QUEUE_ENV]!);
  const state = new RunState(redis, job.data.run);
  const run = await prepared(state);
  if (!run) {
    return {
      written: 0,
      resumed: 0,
      failed: 0,
      flagged: 0,
      skipped: "the run is no longer in the queue",
    };
  }
  const { batch } = job.data;
  const size = run.config.batchSize;
  const items = run.items.slice(batch * size, (batch + 1) * size);
  await checkImages(run.items, job.data);
  const sink = await QueueSink.open(
    state,
    items.map((i) => i.id),
    run.config.methods,
    scratch,
  );
  const summary = await runEvaluation<DatasetRecord>(run.ctx, run.items, sink, {
    ...runOptionsOf(run),
    batches: new Set([batch]),
    cache: current!.cache,
    log: (message) => processIo.err.write(`batch ${batch}: ${message}\n`),
  });
  for (const failure of summary.failed) await state.storeFailure(failure);
  return {
    written: summary.written,
    resumed: summary.resumed,
    failed: summary.failed.length,
    flagged: summary.flagged.length,
  };
}

/** Closes the queue connection and the prepared run (for callers in a long-lived process). */
export async function releaseProcessor(): Promise<void> {
  redis?.disconnect();
  redis = undefined;
  await current?.prepared.engine.dispose();
  current = undefined;
}
