// The fuzz suite's vocabulary: a case (what is run, in which class of bad input), what it should
// end in, and the five outcomes a run is sorted into.

/** The kinds of trouble the suite throws at camscope (issue 12's classes). */
export const GROUPS = [
  "model",
  "image",
  "option",
  "dataset",
  "output",
  "numeric",
  "library",
  "concurrency",
  "interrupt",
] as const;
export type Group = (typeof GROUPS)[number];

/**
 * ok: the verdict expected; stack-trace: a raw error or stack trace (or, in the library, an
 * error that is not a CamscopeError); silent-wrong: success where an error was due, or a result
 * the check rejects; hang: past the time or memory limit; unclear: an error, but not one line
 * naming the right thing (or an error where a result was due).
 */
export const OUTCOMES = ["ok", "stack-trace", "silent-wrong", "hang", "unclear"] as const;
export type OutcomeClass = (typeof OUTCOMES)[number];

/** Something the message must contain: a literal (case-insensitive) or a pattern. */
export type Mention = string | RegExp;

/**
 * The expected verdict: an error naming every mention, or success whose result `check` accepts
 * (it returns what is wrong, or undefined).
 */
export type Expectation =
  | { error: readonly Mention[] }
  | {
      ok: (observed: Observation, env: CaseEnv) => Promise<string | undefined> | string | undefined;
    };

/** What a run did. */
export type Observation =
  | {
      kind: "cli";
      code: number;
      stdout: string;
      stderr: string;
      /** An error that escaped the CLI's handler (the real executable prints its stack). */
      escaped?: string;
    }
  | {
      kind: "lib";
      /** The value returned, when the call did not throw. */
      value?: unknown;
      thrown?: { name: string; message: string; code?: string; camscope: boolean };
    }
  /** A case that runs several processes judges them itself (concurrent writers, kill -9). */
  | { kind: "verdict"; outcome: OutcomeClass; detail?: string };

export interface Outcome {
  id: string;
  group: Group;
  outcome: OutcomeClass;
  /** Why, for anything but ok. */
  detail?: string;
  ms: number;
}

/** The folders a case may use. */
export interface CaseEnv {
  /** Shared read-only fixtures (fixtures.ts). */
  fixtures: import("./fixtures.ts").Fixtures;
  /** An empty folder of the case's own. */
  scratch: string;
}

export interface FuzzCase {
  /** Unique and stable, e.g. "option/explain/--steps=0". */
  id: string;
  group: Group;
  /** Time limit in milliseconds (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  run(env: CaseEnv): Promise<Observation>;
  /** Undoes what the OS keeps after the case (an immutable flag), so the folder can go. */
  cleanup?(env: CaseEnv): Promise<void>;
  /** The verdict due; a function where it depends on the fixtures' paths. */
  expect: Expectation | ((env: CaseEnv) => Expectation);
}

export const DEFAULT_TIMEOUT_MS = 30_000;
