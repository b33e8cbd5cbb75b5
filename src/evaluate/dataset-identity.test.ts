import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CamscopeError } from "../errors.ts";
import {
  annotationChange,
  annotationDigest,
  annotationsHash,
  checkContent,
  hashFile,
  manifestEntries,
} from "./dataset-identity.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-identity-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const record = (id: string, file: string, x1 = 5) => ({
  id,
  file,
  label: 1,
  boxes: [{ x0: 0, y0: 0, x1, y1: 4 }],
  maskSource: [{ counts: [1, 2], size: [2, 2] }],
});

test("annotation digests cover label, boxes and mask source; a change names the record", () => {
  const a = record("1:1", "/d/a.png");
  assert.equal(annotationDigest(a), annotationDigest({ ...a }));
  assert.notEqual(annotationDigest(a), annotationDigest({ ...a, label: 2 }));
  assert.notEqual(annotationDigest(a), annotationDigest(record("1:1", "/d/a.png", 6)));
  assert.notEqual(annotationDigest(a), annotationDigest({ ...a, maskSource: undefined }));
  const old = manifestEntries([a, record("2:1", "/d/b.png")]);
  const now = manifestEntries([a, record("2:1", "/d/b.png", 7)]);
  assert.notEqual(annotationsHash(old), annotationsHash(now));
  assert.equal(
    annotationChange(old, now),
    'the annotations of record "2:1" (image "/d/b.png") changed (label, boxes or mask)',
  );
  assert.equal(annotationChange(old, old), undefined);
  assert.equal(annotationChange(old, old.slice(0, 1)), 'record "2:1" (image "/d/b.png") is gone');
});

test("images are hashed as streams; a changed file is refused by name even with its mtime restored", async () => {
  const file = join(dir, "a.png");
  await writeFile(file, "first bytes");
  const digest = await hashFile(file);
  assert.equal(digest.sha256, createHash("sha256").update("first bytes").digest("hex"));
  const entries = manifestEntries([record("1:1", file)]);
  const first = await checkContent(dir, undefined, entries, new Set(["1:1"]));
  assert.equal(first.hashed, 1);
  // Unchanged: the stat values match, nothing is read again.
  const again = await checkContent(dir, first.manifest, entries, new Set(["1:1"]));
  assert.equal(again.hashed, 0);
  // Same size, new bytes, old mtime put back: ctime still moves, so the file is re-hashed.
  const before = await stat(file);
  await writeFile(file, "other bytes");
  await utimes(file, before.atime, before.mtime);
  await assert.rejects(
    checkContent(dir, first.manifest, entries, new Set(["1:1"])),
    (e: unknown) =>
      e instanceof CamscopeError &&
      e.code === "RUN_MISMATCH" &&
      e.message.includes(`image "${file}" (record "1:1") changed since the run began`),
  );
  // Rewritten with the same bytes: re-hashed, accepted.
  await writeFile(file, "first bytes");
  assert.equal((await checkContent(dir, first.manifest, entries, new Set(["1:1"]))).hashed, 1);
});
