// Building cases: the CLI in this process (fast: no start-up per case), the real executable in a
// child process (for kill -9, concurrent writers and what only a real process shows), and library
// calls.
import { spawn } from "node:child_process";
import { CamscopeError } from "../errors.ts";
import type { Io } from "../cli/io.ts";
import { runCli } from "../cli/program.ts";
import { BIN } from "./fixtures.ts";
import type { CaseEnv, Expectation, FuzzCase, Group, Observation } from "./types.ts";

export interface CaseOptions {
  timeoutMs?: number;
}

/** `camscope <args>` in this process, stdout and stderr captured. */
export async function runInProcess(args: readonly string[]): Promise<Observation> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: { write: (s: string) => (stdout += s) },
    err: { write: (s: string) => (stderr += s), isTTY: false },
  };
  try {
    const code = await runCli(args, io);
    return { kind: "cli", code, stdout, stderr };
  } catch (error) {
    const escaped = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { kind: "cli", code: 1, stdout, stderr, escaped };
  }
}

export interface ProcessRun {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started `camscope` child process. */
export interface Started {
  pid: number;
  done: Promise<ProcessRun>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts the real executable; it is SIGKILLed after `timeoutMs`. */
export function startProcess(args: readonly string[], timeoutMs = 60_000): Started {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<ProcessRun>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
  });
  return { pid: child.pid!, done, kill: (signal = "SIGKILL") => child.kill(signal) };
}

export async function runProcess(
  args: readonly string[],
  timeoutMs?: number,
): Promise<Observation> {
  const run = await startProcess(args, timeoutMs).done;
  return { kind: "cli", code: run.code, stdout: run.stdout, stderr: run.stderr };
}

/** Runs a library call and records what it returned or threw. */
export async function runLibrary(call: () => unknown): Promise<Observation> {
  try {
    return { kind: "lib", value: await call() };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return {
      kind: "lib",
      thrown: {
        name: e?.name ?? typeof error,
        message: e?.message ?? String(error),
        ...(typeof e?.code === "string" ? { code: e.code } : {}),
        camscope: error instanceof CamscopeError,
      },
    };
  }
}

type Args = readonly string[] | ((env: CaseEnv) => readonly string[] | Promise<readonly string[]>);

async function argsOf(args: Args, env: CaseEnv): Promise<readonly string[]> {
  return typeof args === "function" ? args(env) : args;
}

export function cliCase(
  id: string,
  group: Group,
  args: Args,
  expect: FuzzCase["expect"],
  options: CaseOptions = {},
): FuzzCase {
  return {
    id,
    group,
    ...options,
    expect,
    run: async (env) => runInProcess(await argsOf(args, env)),
  };
}

export function processCase(
  id: string,
  group: Group,
  args: Args,
  expect: FuzzCase["expect"],
  options: CaseOptions = {},
): FuzzCase {
  return {
    id,
    group,
    ...options,
    expect,
    run: async (env) => runProcess(await argsOf(args, env), options.timeoutMs),
  };
}

export function libCase(
  id: string,
  group: Group,
  call: (env: CaseEnv) => unknown,
  expect: FuzzCase["expect"],
  options: CaseOptions = {},
): FuzzCase {
  return { id, group, ...options, expect, run: (env) => runLibrary(() => call(env)) };
}

/** Expect success, with no check beyond the exit status. */
export const succeeds: Expectation = { ok: () => undefined };
