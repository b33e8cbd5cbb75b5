// The fuzz worker: a child process that runs cases one at a time, in-process, on the parent's
// request, and answers with their outcomes. The parent (pool.ts) times each case and kills the
// worker when one hangs or runs away with memory, then starts a new one for the next case.
import { classify } from "./classify.ts";
import { allCases } from "./cases/index.ts";
import type { Fixtures } from "./fixtures.ts";
import type { CaseEnv, Outcome } from "./types.ts";

export type ToWorker = { type: "run"; id: string; scratch: string; fixtures: Fixtures };
export type FromWorker = { type: "done"; outcome: Outcome } | { type: "ready" };

const cases = new Map(allCases().map((c) => [c.id, c]));
let current: { id: string; started: number; answer: (o: Outcome) => void } | undefined;

// An error nobody awaited (a background promise) would print a stack trace and kill the real
// CLI: it counts against the case that caused it.
const escaped = (error: unknown) => {
  const c = current;
  if (!c) return;
  current = undefined;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  c.answer({
    id: c.id,
    group: cases.get(c.id)!.group,
    outcome: "stack-trace",
    detail: `unhandled: ${message.split("\n").slice(0, 2).join(" | ")}`,
    ms: performance.now() - c.started,
  });
  // The process state is suspect now; the parent starts a fresh worker.
  setTimeout(() => process.exit(3), 50);
};
process.on("unhandledRejection", escaped);
process.on("uncaughtException", escaped);

process.on("message", (message: ToWorker) => {
  const fuzzCase = cases.get(message.id);
  const send = (outcome: Outcome) => process.send!({ type: "done", outcome } satisfies FromWorker);
  if (!fuzzCase) {
    send({ id: message.id, group: "option", outcome: "unclear", detail: "no such case", ms: 0 });
    return;
  }
  const env: CaseEnv = { fixtures: message.fixtures, scratch: message.scratch };
  const started = performance.now();
  current = { id: message.id, started, answer: send };
  void (async () => {
    let outcome: Outcome;
    try {
      const observed = await fuzzCase.run(env);
      const expect = typeof fuzzCase.expect === "function" ? fuzzCase.expect(env) : fuzzCase.expect;
      const c = await classify(observed, expect, env);
      outcome = { id: fuzzCase.id, group: fuzzCase.group, ...c, ms: performance.now() - started };
    } catch (error) {
      // The case's own set-up failed: a bug in the suite, reported as such.
      outcome = {
        id: fuzzCase.id,
        group: fuzzCase.group,
        outcome: "unclear",
        detail: `fuzz case failed: ${(error as Error).stack?.split("\n").slice(0, 3).join(" | ")}`,
        ms: performance.now() - started,
      };
    }
    if (current?.id === fuzzCase.id) {
      current = undefined;
      send(outcome);
    }
  })();
});

process.send!({ type: "ready" } satisfies FromWorker);
