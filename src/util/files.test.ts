import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { READ_ONLY_ERROR, setReadOnly } from "../testing/read-only.ts";
import {
  prepareOutputDir,
  prepareOutputFile,
  readInputFile,
  readRegularFile,
  writeOutputFile,
} from "./files.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-files-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const outputError = (pattern: RegExp) => (error: unknown) =>
  error instanceof CamscopeError && error.code === "OUTPUT_WRITE" && pattern.test(error.message);

test("inputs: regular files are read; anything else is refused unread, with the reason", async () => {
  const file = join(dir, "a.bin");
  await writeFile(file, "abc");
  assert.deepEqual(await readRegularFile(file, 3), { bytes: Buffer.from("abc") });
  assert.deepEqual(await readRegularFile(file, 2), { reason: "is 3 bytes, over the 2-byte limit" });
  assert.deepEqual(await readRegularFile(join(dir, "none"), 9), { reason: "file not found" });
  assert.deepEqual(await readRegularFile(dir, 9), { reason: "is a folder, not a regular file" });
  const fifo = join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  // Without O_NONBLOCK this open would wait forever for a writer.
  assert.deepEqual(await readRegularFile(fifo, 9), {
    reason: "is a FIFO (named pipe), not a regular file",
  });
  assert.deepEqual(await readRegularFile("/dev/zero", 9), {
    reason: "is a character device, not a regular file",
  });
  const sparse = join(dir, "sparse");
  await writeFile(sparse, "");
  await truncate(sparse, 3 * 2 ** 30);
  assert.deepEqual(await readRegularFile(sparse, 2 ** 30), {
    reason: "is 3221225472 bytes, over the 1.0 GiB limit",
  });
  await assert.rejects(
    readInputFile(fifo, { what: "COCO annotations", limit: 9 }),
    (e: unknown) =>
      e instanceof CamscopeError &&
      e.code === "INPUT_FILE" &&
      e.message ===
        `Cannot read COCO annotations "${fifo}": is a FIFO (named pipe), not a regular file`,
  );
});

test("output folders: created and probed before any work; what is in the way is named", async () => {
  const out = join(dir, "out", "deep");
  await prepareOutputDir(out);
  assert.deepEqual(await readdir(out), []); // the probe file is gone
  const file = join(dir, "file");
  await writeFile(file, "x");
  await assert.rejects(
    prepareOutputDir(file),
    outputError(/^--out ".*file" is a file, not a folder to write into$/),
  );
  await assert.rejects(
    prepareOutputDir(join(file, "sub")),
    outputError(new RegExp(`"${file}" is a file, not a folder`)),
  );
  await assert.rejects(prepareOutputDir(""), /--out is empty/);
  await assert.rejects(
    prepareOutputDir("/dev/null"),
    outputError(/is a character device, not a folder/),
  );
  const locked = join(dir, "locked");
  await mkdir(locked);
  setReadOnly(locked, true);
  await assert.rejects(prepareOutputDir(join(locked, "sub")), outputError(READ_ONLY_ERROR));
  setReadOnly(locked, false);
});

test("output files: a folder in the way is named; a full disk at write time is an error naming the file", async () => {
  await assert.rejects(prepareOutputFile(dir, "--out"), outputError(/is a folder, not a file/));
  await prepareOutputFile(join(dir, "new", "a.png"));
  // /dev/full accepts the open and fails every write with ENOSPC.
  await prepareOutputFile("/dev/full");
  await assert.rejects(
    writeOutputFile("/dev/full", "data"),
    outputError(/^Cannot write "\/dev\/full": no space left on the device \(ENOSPC\)$/),
  );
});
