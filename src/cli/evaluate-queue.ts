// `camscope evaluate ... --queue redis://host:port`: this process is the run's coordinator. It
// builds the run exactly as a local run does, opens (and locks) the run folder, publishes the
// run for workers (`camscope worker`, ./worker.ts), enqueues the batches still missing records,
// moves the records workers store into the folder as they come, and writes the tables and report
// when the folder holds them all. `--status` prints a run's progress instead.
import { hostname } from "node:os";
import { resolve } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { EvaluateConfig } from "../evaluate/config.ts";
import { readManifest } from "../evaluate/dataset-identity.ts";
import { writeRunOutputs } from "../evaluate/outputs.ts";
import { connectQueue, displayUrl } from "../evaluate/queue/connection.ts";
import {
  coordinate,
  removeRunJobs,
  type BatchJob,
  type BatchResult,
} from "../evaluate/queue/coordinator.ts";
import { CoordinatorLease, type LeaseHolder } from "../evaluate/queue/lease.ts";
import { QUEUE_NAME, RunState, type RunMeta } from "../evaluate/queue/run-state.ts";
import { batchCount, claimShard } from "../evaluate/shards.ts";
import { configHash, readRun, RunStore } from "../evaluate/store.ts";
import type { RunTables } from "../evaluate/tables.ts";
import { CamscopeError } from "../errors.ts";
import {
  checkUsable,
  positionsOf,
  PROGRESS_BAR,
  prepareEvaluation,
  runDefinition,
  withAbsolutePaths,
  type EvaluateCliOptions,
} from "./evaluate-setup.ts";
import type { Io } from "./io.ts";
import { Progress } from "./progress.ts";

/** A connection whose losses are reported once each (ioredis retries on its own). */
export async function queueConnection(
  url: string,
  io: Io,
  log?: (m: string) => void,
): Promise<Redis> {
  let down = false;
  const say = log ?? ((m: string) => io.err.write(`${m}\n`));
  const redis = await connectQueue(url, (error) => {
    if (down) return;
    down = true;
    say(`queue: lost the connection to ${displayUrl(url)} (${error.message}); retrying`);
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    say(`queue: connected to ${displayUrl(url)} again`);
  });
  return redis;
}

/** Coordinates the run on the queue and writes its tables and report; returns the tables. */
export async function evaluateOnQueue(options: EvaluateCliOptions, io: Io): Promise<RunTables> {
  const url = options.queue!;
  let progress: Progress | undefined;
  const log = (message: string) =>
    progress ? progress.log(message) : io.err.write(`${message}\n`);
  // An unreachable queue is found before the model and the dataset are read.
  const redis = await queueConnection(url, io, log);
  let queue: Queue<BatchJob, BatchResult> | undefined;
  let store: RunStore<EvaluateConfig> | undefined;
  let lease: CoordinatorLease | undefined;
  const definition = withAbsolutePaths(runDefinition(options));
  try {
    const prepared = await prepareEvaluation(
      { ...definition, threads: options.threads, forceThreads: options.forceThreads },
      io,
      options.out,
    );
    const { items, identity, config } = prepared;
    // The coordinator explains nothing: its model was needed for the configuration only.
    await prepared.engine.dispose();
    const opened = await RunStore.open(options.out, config, {
      dataset: { entries: identity, evaluate: new Set(items.map((i) => i.id)) },
    });
    store = opened.store;
    await claimShard(options.out, undefined, store.records().length);
    const hash = configHash(config);
    const run = hash.slice(0, 12);
    const state = new RunState(redis, hash);
    lease = await CoordinatorLease.acquire(redis, state.keys.lease, resolve(options.out), run);
    const meta: RunMeta = {
      version: 1,
      hash,
      config,
      definition,
      items: items.length,
      batches: batchCount(items.length, config.batchSize),
      total: items.length * config.methods.length,
      coordinator: {
        host: hostname(),
        pid: process.pid,
        out: resolve(options.out),
        started: new Date().toISOString(),
      },
    };
    const manifest = await readManifest(options.out);
    const digests = new Map(
      (manifest?.records ?? []).flatMap((e) => (e.content ? [[e.id, e.content.sha256]] : [])),
    );
    queue = new Queue<BatchJob, BatchResult>(QUEUE_NAME, { connection: redis });
    queue.on("error", () => undefined); // Connection losses are reported by queueConnection.
    io.err.write(
      `run ${run}: ${items.length} images in ${batchCount(items.length, config.batchSize)} batches on ${displayUrl(url)} (start workers with camscope worker --queue ${displayUrl(url)})\n`,
    );
    const result = await coordinate({
      queue,
      state,
      lease,
      meta,
      store,
      items,
      methods: config.methods,
      batchSize: config.batchSize,
      digests,
      log,
      onProgress: (done, total) => {
        if (total === 0) return;
        progress ??= new Progress(io.err, total, "records", { bar: PROGRESS_BAR });
        progress.update(done);
      },
    });
    progress?.finish();
    io.err.write(
      `run ${run}: received ${result.received} records from workers, ${result.alreadyStored} of them already in the run folder\n`,
    );
    if (result.failedBatches.length > 0) {
      const firstFailed = result.failedBatches[0]!;
      throw new CamscopeError(
        "QUEUE",
        `${result.failedBatches.length} batch(es) of run ${run} failed on the workers after every attempt (batch ${firstFailed.batch}: ${firstFailed.reason.split("\n")[0]}); the other records are in "${options.out}"`,
        { hint: "fix the cause and run this command again: it retries only what is missing" },
      );
    }
    const ids = new Set(items.map((i) => i.id));
    const records = store.records().filter((r) => ids.has(r.image));
    checkUsable(records, result.failed.length, options.data);
    const tables = await writeRunOutputs(options.out, config, records, positionsOf(identity));
    await removeRunJobs(queue, hash);
    await state.remove();
    return tables;
  } finally {
    progress?.finish();
    await lease?.release();
    await queue?.close();
    await store?.close();
    redis.disconnect();
  }
}

/** `--status`: the run's records, jobs, coordinator and workers, from the queue. */
export async function printQueueStatus(options: EvaluateCliOptions, io: Io): Promise<void> {
  const url = options.queue!;
  const redis = await queueConnection(url, io);
  let queue: Queue<BatchJob, BatchResult> | undefined;
  try {
    const definition = withAbsolutePaths(runDefinition(options));
    const prepared = await prepareEvaluation(
      { ...definition, threads: options.threads, forceThreads: options.forceThreads },
      { out: io.out, err: { write: () => true } },
    );
    await prepared.engine.dispose();
    const hash = configHash(prepared.config);
    const run = hash.slice(0, 12);
    const state = new RunState(redis, hash);
    const meta = await state.readMeta();
    const folder = await readRun<EvaluateConfig>(options.out).catch(() => undefined);
    const inFolder =
      folder && configHash(folder.config) === hash
        ? `; "${options.out}" holds ${folder.records.length} records`
        : "";
    if (!meta) {
      io.out.write(
        `run ${run}: not in the queue at ${displayUrl(url)} (not started, or finished and cleaned up)${inFolder}\n`,
      );
      return;
    }
    const lines: string[] = [];
    const stored = await state.storedCount();
    const pct = meta.total > 0 ? Math.floor((100 * stored) / meta.total) : 100;
    const failures = Object.keys(await state.failures()).length;
    lines.push(
      `run ${run}: ${stored} of ${meta.total} records stored by workers (${pct}%), ${await state.pending()} not yet in the run folder${failures > 0 ? `, ${failures} images could not be read` : ""}${inFolder}`,
    );
    queue = new Queue<BatchJob, BatchResult>(QUEUE_NAME, { connection: redis });
    const counts: Record<string, number> = {};
    for (const kind of ["waiting", "delayed", "active", "failed"] as const) {
      const jobs = await queue.getJobs([kind === "waiting" ? "wait" : kind]);
      counts[kind] = jobs.filter((j) => j?.data?.run === hash).length;
    }
    lines.push(
      `jobs: ${counts.waiting} waiting, ${counts.delayed} waiting to be retried, ${counts.active} running, ${counts.failed} failed (of ${meta.batches} batches)`,
    );
    const holder = await redis.get(state.keys.lease);
    if (holder) {
      const h = JSON.parse(holder) as LeaseHolder;
      lines.push(
        `coordinator: process ${h.pid} on ${h.host}, writing "${h.out}" since ${h.started}`,
      );
    } else {
      lines.push(
        "coordinator: none (run camscope evaluate ... --queue again to collect the records)",
      );
    }
    lines.push(`workers: ${(await queue.getWorkers()).length} connected to the queue`);
    io.out.write(`${lines.join("\n")}\n`);
  } finally {
    await queue?.close();
    redis.disconnect();
  }
}
