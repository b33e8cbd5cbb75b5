// `camscope worker --queue redis://host:port [--concurrency k]`: takes batches of queued runs
// (camscope evaluate ... --queue) and stores their records, until stopped (SIGINT or SIGTERM let
// the running batches finish first). It is a BullMQ worker whose jobs run in child processes
// (a sandboxed processor, ./worker-processor.ts): k children compute k batches at once, and this
// process stays free to renew the jobs' locks however long an ONNX Runtime call blocks a child.
// A worker that dies (SIGKILL, a lost machine) stops renewing; after --stall-timeout seconds its
// jobs go back to the queue and another worker computes them; records stored meanwhile are kept
// and not stored twice.
import { hostname } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import type { Command } from "commander";
import type { BatchJob, BatchResult } from "../evaluate/queue/coordinator.ts";
import { checkQueueUrl, displayUrl } from "../evaluate/queue/connection.ts";
import { QUEUE_NAME } from "../evaluate/queue/run-state.ts";
import { CamscopeError } from "../errors.ts";
import { queueConnection } from "./evaluate-queue.ts";
import type { Io } from "./io.ts";
import { positiveInt } from "./options.ts";
import { checkThreads, intOption, LIMITS } from "./validate.ts";
import { QUEUE_ENV, THREADS_ENV } from "./worker-env.ts";

export interface WorkerCliOptions {
  queue: string;
  concurrency: number;
  threads?: number;
  forceThreads?: boolean;
  stallTimeout: number;
}

/** Jobs of a worker found dead are taken up again after this long without a lock renewal. */
export const DEFAULT_STALL_TIMEOUT_S = 30;
/** A job whose workers died this many times fails (a batch that kills its worker, say by OOM). */
const MAX_STALLED = 3;

export function registerWorker(program: Command, io: Io): void {
  program
    .command("worker")
    .description(
      "take batches of runs started with camscope evaluate --queue and store their records",
    )
    .requiredOption("--queue <url>", "the queue's Redis: redis://host:port")
    .option(
      "--concurrency <k>",
      "batches computed at once, each in a process of its own",
      positiveInt,
      1,
    )
    .option(
      "--threads <n>",
      "ONNX Runtime intra-op threads per process, up to the machine's cores (default: all cores)",
      intOption(1, LIMITS.threads),
    )
    .option("--force-threads", "allow --threads above the machine's cores")
    .option(
      "--stall-timeout <s>",
      "seconds after which the batches of a worker that stopped answering go back to the queue",
      positiveInt,
      DEFAULT_STALL_TIMEOUT_S,
    )
    .action(async (options: WorkerCliOptions) => {
      await runWorker(options, io);
    });
}

const CONNECTION_ERRORS = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed/;

/** This worker's name, stored on the jobs it takes. */
export function workerName(pid = process.pid): string {
  return `${hostname()}:${pid}`;
}

/** The sandboxed processor's file: its .ts source under tsx, its compiled .js in a package. */
function processorFile(): { path: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const path = here.slice(0, -ext.length).replace(/worker$/, "worker-processor") + ext;
  // A checkout runs TypeScript through tsx (bin/camscope.js); its children need it too.
  return { path, execArgv: ext === ".ts" ? ["--import", import.meta.resolve("tsx")] : [] };
}

/** Runs the worker until SIGINT or SIGTERM; a run it cannot take (RUN_MISMATCH) stops it. */
export async function runWorker(options: WorkerCliOptions, io: Io): Promise<void> {
  const url = checkQueueUrl(options.queue);
  checkThreads(options.threads, options.forceThreads);
  const redis = await queueConnection(url, io);
  const processor = processorFile();
  const worker = new Worker<BatchJob, BatchResult>(QUEUE_NAME, processor.path, {
    connection: redis,
    // Stored on each job it takes (--status, tests): host:pid.
    name: workerName(),
    concurrency: options.concurrency,
    lockDuration: options.stallTimeout * 1000,
    stalledInterval: options.stallTimeout * 1000,
    maxStalledCount: MAX_STALLED,
    useWorkerThreads: false,
    workerForkOptions: {
      execArgv: processor.execArgv,
      env: {
        ...process.env,
        [QUEUE_ENV]: url,
        ...(options.threads ? { [THREADS_ENV]: String(options.threads) } : {}),
      },
    },
  });
  let fatal: CamscopeError | undefined;
  const stopped = new Promise<void>((done) => {
    const stop = () => {
      void worker.close().then(done, done);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    worker.on("completed", (job, result) => {
      const run = job.data.run.slice(0, 12);
      const seconds = ((job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000;
      io.err.write(
        result.skipped
          ? `run ${run} batch ${job.data.batch}: skipped, ${result.skipped}\n`
          : `run ${run} batch ${job.data.batch}: ${result.written} records stored, ${result.resumed} already stored${result.failed ? `, ${result.failed} images unreadable` : ""}${result.flagged ? `, ${result.flagged} flagged` : ""} (${seconds.toFixed(1)} s)\n`,
      );
    });
    worker.on("failed", (job, error) => {
      const code = (error as Error & { code?: string }).code;
      io.err.write(
        `run ${job?.data.run.slice(0, 12) ?? "?"} batch ${job?.data.batch ?? "?"}: failed: ${error.message.split("\n")[0]}\n`,
      );
      // A run this worker cannot compute: leave its jobs to workers that can.
      if (code === "RUN_MISMATCH" && !fatal) {
        fatal = new CamscopeError("RUN_MISMATCH", error.message.split("\n")[0]!, {
          hint: "this worker stopped; give it the coordinator's model and dataset files",
        });
        stop();
      }
    });
    worker.on("error", (error) => {
      // Connection losses are reported once by queueConnection; the connection retries.
      if (!CONNECTION_ERRORS.test(`${(error as NodeJS.ErrnoException).code} ${error.message}`)) {
        io.err.write(`worker: ${error.message.split("\n")[0]}\n`);
      }
    });
  });
  io.err.write(
    `worker ${workerName()}: taking batches from ${displayUrl(url)}, ${options.concurrency} at a time\n`,
  );
  await stopped;
  redis.disconnect();
  if (fatal) throw fatal;
}
