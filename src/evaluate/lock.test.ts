import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { LOCK_DIR, RunLock, type LockOwner } from "./lock.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-lock-"));
});
after(() => rm(dir, { recursive: true, force: true }));

async function folder(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  return path;
}

/** A pid that no process holds any more: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!;
}

async function writeLock(run: string, n: number, owner: Partial<LockOwner>): Promise<void> {
  await mkdir(join(run, LOCK_DIR), { recursive: true });
  const full: LockOwner = { pid: 1, host: hostname(), started: "then", token: "t", ...owner };
  await writeFile(join(run, LOCK_DIR, `${n}.json`), JSON.stringify(full));
}

const inUse = (pattern: RegExp) => (error: unknown) =>
  error instanceof CamscopeError && error.code === "RUN_IN_USE" && pattern.test(error.message);

test("a second writer is refused while the first holds the lock, and admitted after release", async () => {
  const run = await folder("two");
  const first = await RunLock.acquire(run);
  assert.equal(first.owner.pid, process.pid);
  await assert.rejects(RunLock.acquire(run), inUse(/is in use by .*\(this process\)/));
  await first.release();
  const second = await RunLock.acquire(run);
  // Numbers only grow, and only the current lock file is left.
  assert.deepEqual(await readdir(join(run, LOCK_DIR)), ["1.json"]);
  await second.release();
  const released = JSON.parse(await readFile(join(run, LOCK_DIR, "1.json"), "utf8")) as LockOwner;
  assert.equal(released.released, true);
});

test("of many concurrent takers exactly one gets the lock", async () => {
  const run = await folder("race");
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => RunLock.acquire(run)));
  const won = results.filter((r) => r.status === "fulfilled");
  assert.equal(won.length, 1);
  for (const r of results) {
    if (r.status === "rejected") assert.ok(inUse(/in use/)(r.reason), String(r.reason));
  }
});

test("a stale lock (its process is dead) is taken over, also by racing takers one at a time", async () => {
  const run = await folder("stale");
  await writeLock(run, 4, { pid: deadPid() });
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => RunLock.acquire(run)));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  assert.deepEqual(await readdir(join(run, LOCK_DIR)), ["5.json"]);
});

test("a reused pid (same pid, later process start) counts as dead", async () => {
  const run = await folder("reused");
  await writeLock(run, 0, { pid: process.pid, processStart: "1" });
  const lock = await RunLock.acquire(run);
  assert.equal(lock.path, join(run, LOCK_DIR, "1.json"));
  await lock.release();
});

test("a lock from another host is never taken over; the hint says how to clear it", async () => {
  const run = await folder("foreign");
  await writeLock(run, 0, { pid: deadPid(), host: "elsewhere" });
  await assert.rejects(RunLock.acquire(run), (error: unknown) => {
    assert.ok(inUse(/process \d+ on elsewhere/)(error));
    assert.match(
      (error as CamscopeError).hint!,
      /if no camscope runs on elsewhere any more, delete/,
    );
    return true;
  });
});

test("a lock file that is not JSON is reported, not overwritten", async () => {
  const run = await folder("junk");
  await mkdir(join(run, LOCK_DIR));
  await writeFile(join(run, LOCK_DIR, "0.json"), "{");
  await assert.rejects(RunLock.acquire(run), inUse(/is not a camscope lock/));
});
