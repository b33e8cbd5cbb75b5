// Concurrent writers and interruptions of `camscope evaluate`, with real processes: two or three
// writers on one run folder, a writer started while another writes, stale and foreign locks,
// kill -9 (and SIGTERM) at assorted points followed by a resume. The verdict: every process
// either finishes or is refused with one clear line, and the folder ends up holding exactly the
// records of an uninterrupted run, each once.
import { appendFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { EvalRecord } from "../../evaluate/records.ts";
import { classify } from "../classify.ts";
import { explainOutputProblem, readRecords, recordsProblem } from "../checks.ts";
import { runInProcess, startProcess, type ProcessRun } from "../harness.ts";
import type { CaseEnv, FuzzCase, Observation } from "../types.ts";
import { RUN_DATASET_COPIES } from "../fixtures.ts";
import { explainArgs, outDir } from "./common.ts";

/** The evaluation every case runs: 28 records x 3 methods, all metrics, a few seconds. */
function runArgs(env: CaseEnv, out: string): string[] {
  const fx = env.fixtures;
  return [
    "evaluate",
    "--model",
    fx.tiny,
    "--data",
    join(fx.dir, "dataset", "annotations.json"),
    "--methods",
    "gradcam,scorecam,eigencam",
    "--metrics",
    "all",
    "--sanity-steps",
    "2",
    "--batch-size",
    "1",
    "--threads",
    "1",
    "--examples",
    "2",
    "--out",
    out,
  ];
}

let reference: Promise<EvalRecord[]> | undefined;

/** The records of an uninterrupted run, made once per fixtures folder. */
function referenceRecords(env: CaseEnv): Promise<EvalRecord[]> {
  reference ??= (async () => {
    const dir = join(env.fixtures.dir, "reference-run");
    const existing = await readRecords(dir);
    if (existing.length > 0 && (await stat(join(dir, "summary.json")).catch(() => undefined)))
      return existing;
    const run = await runInProcess(runArgs(env, dir));
    if (run.kind === "cli" && run.code !== 0)
      throw new Error(`reference run failed: ${run.stderr}`);
    return readRecords(dir);
  })();
  return reference;
}

const IN_USE = /in use|locked|another/i;

/** A process's result as the CLI contract judges it: success, or refusal naming the folder. */
async function judge(
  run: ProcessRun,
  env: CaseEnv,
  out: string,
): Promise<{ outcome: string; detail?: string } | undefined> {
  const observed: Observation = {
    kind: "cli",
    code: run.code,
    stdout: run.stdout,
    stderr: run.stderr,
  };
  if (run.signal) return { outcome: "hang", detail: `killed by ${run.signal} (time limit)` };
  if (run.code === 0) return undefined;
  const c = await classify(observed, { error: [IN_USE, out] }, env);
  return c.outcome === "ok" ? undefined : c;
}

async function untilRecords(out: string, count: number, limitMs = 60_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if ((await readRecords(out)).length >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function deadPid(): Promise<number> {
  const child = startProcess(["--version"]);
  await child.done;
  return child.pid;
}

/** Writes a lock as camscope writes one: lock/0.json in the run folder. */
async function writeLock(out: string, owner: { pid: number; host: string }): Promise<void> {
  await mkdir(join(out, "lock"), { recursive: true });
  await writeFile(
    join(out, "lock", "0.json"),
    JSON.stringify({ ...owner, started: new Date(0).toISOString(), token: "fuzz" }),
  );
}

/**
 * Judges every process, then the records; the first problem is the verdict. `refused`: how many
 * of the writers must have been refused (they overlapped, by construction of the case).
 */
async function verdict(
  env: CaseEnv,
  out: string,
  runs: readonly ProcessRun[],
  options: { resume?: boolean; refused?: number } = {},
): Promise<Observation> {
  for (const run of runs) {
    const bad = await judge(run, env, out);
    if (bad) return { kind: "verdict", outcome: bad.outcome as "ok", detail: bad.detail ?? "" };
  }
  if (!runs.some((r) => r.code === 0) && !options.resume) {
    return { kind: "verdict", outcome: "silent-wrong", detail: "every writer was refused" };
  }
  const refused = runs.filter((r) => r.code !== 0).length;
  if (options.refused !== undefined && refused < options.refused) {
    return {
      kind: "verdict",
      outcome: "silent-wrong",
      detail: `writers started together, but only ${refused} of ${runs.length} was refused`,
    };
  }
  if (options.resume) {
    const resumed = await runInProcess(runArgs(env, out));
    const c = await classify(resumed, { ok: () => undefined }, env);
    if (c.outcome !== "ok")
      return { kind: "verdict", outcome: c.outcome, detail: `resume: ${c.detail}` };
  }
  const wrong = await recordsProblem(out, await referenceRecords(env));
  if (wrong) return { kind: "verdict", outcome: "silent-wrong", detail: wrong };
  // The tables must count each record once.
  const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as {
    rows: { method: string; column: string; n: number }[];
  };
  const n = summary.rows.find((r) => r.method === "gradcam" && r.column === "pointing")?.n;
  const records = 7 * RUN_DATASET_COPIES;
  return n === records
    ? { kind: "verdict", outcome: "ok" }
    : {
        kind: "verdict",
        outcome: "silent-wrong",
        detail: `summary counts n = ${n}, expected ${records}`,
      };
}

const PROCESS_MS = 90_000;

export function runCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const add = (
    id: string,
    group: "concurrency" | "interrupt",
    run: (env: CaseEnv, out: string) => Promise<Observation>,
  ) =>
    cases.push({
      id: `${group}/${id}`,
      group,
      timeoutMs: 180_000,
      run: async (env) => {
        await referenceRecords(env);
        return run(env, join(env.scratch, "run"));
      },
      expect: { ok: () => undefined },
    });

  add("two-at-once", "concurrency", async (env, out) => {
    const a = startProcess(runArgs(env, out), PROCESS_MS);
    const b = startProcess(runArgs(env, out), PROCESS_MS);
    return verdict(env, out, await Promise.all([a.done, b.done]), { refused: 1 });
  });
  add("second-while-first-writes", "concurrency", async (env, out) => {
    const a = startProcess(runArgs(env, out), PROCESS_MS);
    await untilRecords(out, 1);
    // B usually finds A writing and is refused; on a loaded machine A may finish first and B
    // resume an already complete run. Either way every record must be stored once.
    const b = startProcess(runArgs(env, out), PROCESS_MS);
    return verdict(env, out, await Promise.all([a.done, b.done]));
  });
  add("three-on-a-stale-lock", "concurrency", async (env, out) => {
    await writeLock(out, { pid: await deadPid(), host: hostname() });
    const runs = [0, 1, 2].map(() => startProcess(runArgs(env, out), PROCESS_MS));
    return verdict(env, out, await Promise.all(runs.map((r) => r.done)), { refused: 2 });
  });
  add("stale-lock", "concurrency", async (env, out) => {
    await writeLock(out, { pid: await deadPid(), host: hostname() });
    return verdict(env, out, [await startProcess(runArgs(env, out), PROCESS_MS).done]);
  });
  add("foreign-host-lock", "concurrency", async (env, out) => {
    await writeLock(out, { pid: 1, host: "some-other-host" });
    const run = await startProcess(runArgs(env, out), PROCESS_MS).done;
    const observed: Observation = {
      kind: "cli",
      code: run.code,
      stdout: run.stdout,
      stderr: run.stderr,
    };
    const c = await classify(observed, { error: ["some-other-host", IN_USE] }, env);
    return { kind: "verdict", outcome: c.outcome, ...(c.detail ? { detail: c.detail } : {}) };
  });
  add("live-lock-in-process", "concurrency", async (env, out) => {
    // A lock held by this very process (alive): the CLI run in-process must be refused.
    await writeLock(out, { pid: process.pid, host: hostname() });
    const run = await runInProcess(runArgs(env, out));
    const c = await classify(run, { error: [IN_USE, String(process.pid)] }, env);
    return { kind: "verdict", outcome: c.outcome, ...(c.detail ? { detail: c.detail } : {}) };
  });
  add("compare-while-writing", "concurrency", async (env, out) => {
    const a = startProcess(runArgs(env, out), PROCESS_MS);
    await untilRecords(out, 2);
    const compared = await runInProcess(["compare", out, out]);
    const c = await classify(compared, { ok: () => undefined }, env);
    const runs = [await a.done];
    if (c.outcome !== "ok")
      return { kind: "verdict", outcome: c.outcome, detail: `compare: ${c.detail}` };
    return verdict(env, out, runs);
  });

  for (const after of [1, 5, 20, 80]) {
    add(`kill-9-after-${after}-records`, "interrupt", async (env, out) => {
      const a = startProcess(runArgs(env, out), PROCESS_MS);
      await untilRecords(out, after);
      a.kill("SIGKILL");
      await a.done;
      return verdict(env, out, [], { resume: true });
    });
  }
  // Mid start-up (the process takes about 2.5 s to load): model loading, dataset hashing,
  // taking the lock, writing config.json and dataset.json.
  for (const ms of [1500, 2500, 3000, 3500]) {
    add(`kill-9-at-${ms}-ms`, "interrupt", async (env, out) => {
      const a = startProcess(runArgs(env, out), PROCESS_MS);
      await new Promise((r) => setTimeout(r, ms));
      a.kill("SIGKILL");
      await a.done;
      return verdict(env, out, [], { resume: true });
    });
  }
  add("kill-9-twice", "interrupt", async (env, out) => {
    for (const at of [3, 10]) {
      const a = startProcess(runArgs(env, out), PROCESS_MS);
      await untilRecords(out, at);
      a.kill("SIGKILL");
      await a.done;
    }
    return verdict(env, out, [], { resume: true });
  });
  add("sigterm", "interrupt", async (env, out) => {
    const a = startProcess(runArgs(env, out), PROCESS_MS);
    await untilRecords(out, 4);
    a.kill("SIGTERM");
    await a.done;
    return verdict(env, out, [], { resume: true });
  });
  add("kill-9-then-two-resume", "interrupt", async (env, out) => {
    const a = startProcess(runArgs(env, out), PROCESS_MS);
    await untilRecords(out, 6);
    a.kill("SIGKILL");
    await a.done;
    const b = startProcess(runArgs(env, out), PROCESS_MS);
    const c = startProcess(runArgs(env, out), PROCESS_MS);
    return verdict(env, out, await Promise.all([b.done, c.done]), { refused: 1 });
  });
  add("torn-last-line", "interrupt", async (env, out) => {
    const a = startProcess(runArgs(env, out), PROCESS_MS);
    await untilRecords(out, 3);
    a.kill("SIGKILL");
    await a.done;
    await appendFile(join(out, "records.jsonl"), '{"image":"9:3","method":"eig');
    return verdict(env, out, [], { resume: true });
  });
  add("kill-9-explain-then-rerun", "interrupt", async (env) => {
    const args = explainArgs(
      env,
      ["--method", "gradcam,scorecam,occlusion", "--window", "2", "--stride", "1"],
      Object.values(env.fixtures.images).filter((p) => p.includes("/samples/")),
    );
    const a = startProcess(args, PROCESS_MS);
    await new Promise((r) => setTimeout(r, 4000));
    a.kill("SIGKILL");
    await a.done;
    const rerun = await runInProcess(args);
    if (rerun.kind === "cli" && rerun.code !== 0)
      return { kind: "verdict", outcome: "unclear", detail: rerun.stderr.slice(0, 300) };
    const wrong = await explainOutputProblem(outDir(env), 6);
    return wrong
      ? { kind: "verdict", outcome: "silent-wrong", detail: wrong }
      : { kind: "verdict", outcome: "ok" };
  });
  return cases;
}
