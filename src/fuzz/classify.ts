// Sorting a run into the five outcomes. The CLI's error contract: exit status 1, exactly one
// `error: ...` line on stderr, at most one hint line after it, no stack frames, and the message
// names what the case expects (the file, option or node and the cause). The library's: a thrown
// CamscopeError whose one-line message names the same things.
import type { CaseEnv, Expectation, Mention, Observation, OutcomeClass } from "./types.ts";

export interface Classified {
  outcome: OutcomeClass;
  detail?: string;
}

// A V8 stack frame line ("    at fn (file:line:col)" or "    at file:line:col").
const STACK_FRAME = /^\s+at .*(?::\d+:\d+\)?|<anonymous>\)?)$/m;
// What the CLI prints for an error it has no message for (a bug).
const INTERNAL = /internal error/i;

function mentions(text: string, wanted: readonly Mention[]): Mention[] {
  const lower = text.toLowerCase();
  return wanted.filter((m) =>
    typeof m === "string" ? !lower.includes(m.toLowerCase()) : !m.test(text),
  );
}

function show(missing: readonly Mention[]): string {
  return missing.map((m) => (typeof m === "string" ? JSON.stringify(m) : String(m))).join(", ");
}

function firstLines(text: string, count = 3): string {
  return text.trim().split("\n").slice(0, count).join(" | ").slice(0, 300);
}

/** The CLI's error lines: the `error:` line and what follows it. */
function errorTail(stderr: string): { errorLines: number; after: string[] } {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  const first = lines.findIndex((l) => l.startsWith("error:"));
  return {
    errorLines: lines.filter((l) => l.startsWith("error:")).length,
    after: first < 0 ? [] : lines.slice(first + 1),
  };
}

export async function classify(
  observed: Observation,
  expect: Expectation,
  env: CaseEnv,
): Promise<Classified> {
  if (observed.kind === "verdict") {
    return { outcome: observed.outcome, ...(observed.detail ? { detail: observed.detail } : {}) };
  }
  if (observed.kind === "cli") {
    if (observed.escaped !== undefined) {
      return { outcome: "stack-trace", detail: `escaped: ${firstLines(observed.escaped)}` };
    }
    if (STACK_FRAME.test(observed.stderr) || INTERNAL.test(observed.stderr)) {
      return { outcome: "stack-trace", detail: firstLines(observed.stderr) };
    }
    if ("error" in expect) {
      if (observed.code === 0) {
        return { outcome: "silent-wrong", detail: "exit 0 where an error was due" };
      }
      const { errorLines, after } = errorTail(observed.stderr);
      if (observed.code !== 1) {
        return {
          outcome: "unclear",
          detail: `exit ${observed.code}: ${firstLines(observed.stderr)}`,
        };
      }
      if (errorLines !== 1 || after.length > 1) {
        return {
          outcome: "unclear",
          detail: `${errorLines} error lines and ${after.length} after: ${firstLines(observed.stderr)}`,
        };
      }
      const missing = mentions(observed.stderr, expect.error);
      if (missing.length > 0) {
        return {
          outcome: "unclear",
          detail: `does not name ${show(missing)}: ${firstLines(observed.stderr)}`,
        };
      }
      return { outcome: "ok" };
    }
    if (observed.code !== 0) {
      return {
        outcome: "unclear",
        detail: `failed where a result was due: ${firstLines(observed.stderr)}`,
      };
    }
    const wrong = await expect.ok(observed, env);
    return wrong === undefined ? { outcome: "ok" } : { outcome: "silent-wrong", detail: wrong };
  }

  const thrown = observed.thrown;
  if (thrown && !thrown.camscope) {
    return { outcome: "stack-trace", detail: `${thrown.name}: ${firstLines(thrown.message, 1)}` };
  }
  if ("error" in expect) {
    if (!thrown) return { outcome: "silent-wrong", detail: "returned where an error was due" };
    if (thrown.message.includes("\n")) {
      return { outcome: "unclear", detail: `multi-line message: ${firstLines(thrown.message)}` };
    }
    const missing = mentions(thrown.message, expect.error);
    if (missing.length > 0) {
      return { outcome: "unclear", detail: `does not name ${show(missing)}: ${thrown.message}` };
    }
    return { outcome: "ok" };
  }
  if (thrown)
    return { outcome: "unclear", detail: `threw where a result was due: ${thrown.message}` };
  const wrong = await expect.ok(observed, env);
  return wrong === undefined ? { outcome: "ok" } : { outcome: "silent-wrong", detail: wrong };
}
