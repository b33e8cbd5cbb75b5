// The CLI's error contract: one `error:` line naming the option or file, at most one hint line,
// exit status 1, and a stack trace only with --debug.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { errorLines, reportError } from "./program.ts";
import { camscope } from "./testing/harness.ts";

test("an option out of range prints its range on one line, then a one-line hint", async () => {
  const run = await camscope([
    "explain",
    "x.png",
    "--model",
    "synth-vgg",
    "--out",
    "o",
    "--steps",
    "0",
  ]);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    "error: option '--steps <n>' argument '0' is invalid. must be an integer from 1 to 100000\n" +
      "(camscope <command> --help lists the options)\n",
  );
});

test("--threads above the cores is refused with the way to force it", async () => {
  const run = await camscope(["layers", "--model", "synth-vgg", "--threads", "1000"]);
  assert.equal(run.code, 1);
  const [error, hint, rest] = run.stderr.split("\n");
  assert.match(
    error!,
    /^error: --threads 1000 is out of range: must be an integer from 1 to \d+ \(this machine's cores\)$/,
  );
  assert.equal(hint, "pass --force-threads to run more threads than cores");
  assert.equal(rest, "");
});

test("errors that are not CamscopeErrors: file-system errors by path, bugs as internal errors", () => {
  const enoent = Object.assign(new Error("ENOENT: no such file"), {
    code: "ENOENT",
    syscall: "open",
    path: "/x/y",
  });
  assert.deepEqual(errorLines(enoent), {
    message: 'Cannot open "/x/y": no such file or folder (ENOENT)',
    bug: false,
  });
  assert.deepEqual(errorLines(new TypeError("a is undefined")), {
    message: "internal error: TypeError: a is undefined",
    hint: "this is a bug in camscope; rerun with --debug for the stack trace",
    bug: true,
  });
  const camscopeError = new CamscopeError("RUN_IN_USE", "in use", { hint: "wait" });
  assert.deepEqual(errorLines(camscopeError), { message: "in use", hint: "wait", bug: false });
});

test("--debug shows the stack trace instead of the hint", () => {
  let text = "";
  const io = { out: { write: () => true }, err: { write: (s: string) => (text += s) } };
  reportError(new TypeError("boom"), io, false);
  assert.equal(text.split("\n").length, 3);
  text = "";
  reportError(new TypeError("boom"), io, true);
  assert.match(text, /^error: internal error: TypeError: boom\nTypeError: boom\n\s+at /);
});
