// Runs fuzz cases in a worker process (worker.ts), one at a time, each in its own scratch folder,
// with a time limit and a memory limit: a case past either is a hang, the worker (and every
// process it started) is killed, and a fresh worker takes the next case.
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Fixtures } from "./fixtures.ts";
import { DEFAULT_TIMEOUT_MS, type FuzzCase, type Outcome } from "./types.ts";
import type { FromWorker, ToWorker } from "./worker.ts";

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));
/** Resident memory past which a case counts as runaway (e.g. reading /dev/zero). */
const MEMORY_LIMIT = 3 * 2 ** 30;
const POLL_MS = 200;

function residentBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

class Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private waiting: ((message: FromWorker | { type: "exit" }) => void) | undefined;

  constructor() {
    // Its own process group, so that killing it also kills the camscope processes it started.
    this.child = fork(WORKER, [], {
      execArgv: ["--import", "tsx"],
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "ipc"],
    });
    this.ready = new Promise((resolve) => {
      const onReady = (m: FromWorker) => {
        if (m.type === "ready") {
          this.child.off("message", onReady);
          resolve();
        }
      };
      this.child.on("message", onReady);
    });
    this.child.on("message", (m: FromWorker) => {
      if (m.type === "done") this.waiting?.(m);
    });
    this.child.on("exit", () => this.waiting?.({ type: "exit" }));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  next(): Promise<FromWorker | { type: "exit" }> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  kill(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

export interface PoolOptions {
  fixtures: Fixtures;
  /** Where the cases' scratch folders go. */
  workDir: string;
  onOutcome?: (outcome: Outcome) => void;
}

export async function runPool(
  cases: readonly FuzzCase[],
  options: PoolOptions,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let worker: Worker | undefined;
  try {
    for (const [n, fuzzCase] of cases.entries()) {
      if (!worker?.alive) {
        worker = new Worker();
        await worker.ready;
      }
      const scratch = join(options.workDir, `case-${n}`);
      await mkdir(scratch, { recursive: true });
      const started = performance.now();
      const limit = fuzzCase.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const answer = worker.next();
      worker.child.send({
        type: "run",
        id: fuzzCase.id,
        scratch,
        fixtures: options.fixtures,
      } satisfies ToWorker);
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const stop = new Promise<{ type: "limit"; why: string }>((resolve) => {
        timer = setTimeout(
          () => resolve({ type: "limit", why: `no answer within ${limit / 1000} s` }),
          limit,
        );
        const pid = worker!.child.pid!;
        poll = setInterval(() => {
          const rss = residentBytes(pid);
          if (rss > MEMORY_LIMIT)
            resolve({ type: "limit", why: `memory grew past ${(rss / 2 ** 30).toFixed(1)} GiB` });
        }, POLL_MS);
      });
      const result = await Promise.race([answer, stop]);
      clearTimeout(timer);
      clearInterval(poll);
      let outcome: Outcome;
      if (result.type === "done") {
        outcome = result.outcome;
        // A worker that saw an unhandled error exits: take the next case to a fresh one.
        if (outcome.detail?.startsWith("unhandled:")) {
          worker.kill();
          worker = undefined;
        }
      } else {
        const why = result.type === "limit" ? result.why : "the worker died";
        outcome = {
          id: fuzzCase.id,
          group: fuzzCase.group,
          outcome: result.type === "limit" ? "hang" : "stack-trace",
          detail: why,
          ms: performance.now() - started,
        };
        worker.kill();
        worker = undefined;
      }
      await fuzzCase.cleanup?.({ fixtures: options.fixtures, scratch }).catch(() => undefined);
      await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
      outcomes.push(outcome);
      options.onOutcome?.(outcome);
    }
  } finally {
    worker?.kill();
  }
  return outcomes;
}
