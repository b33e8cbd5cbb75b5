// The real executable, end to end: bin/camscope.js in a child process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";

const bin = fileURLToPath(new URL("../../bin/camscope.js", import.meta.url));

test("a user error prints one line and exits 1, without a stack trace", async () => {
  const result = await promisify(execFile)(process.execPath, [
    bin,
    "layers",
    "--model",
    "no-such-model",
  ]).then(
    () => assert.fail("expected a non-zero exit"),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^error: Unknown model "no-such-model": .*\n$/);
});

test("--version prints the package version", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, "--version"]);
  assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
});
