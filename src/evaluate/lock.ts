// One writer per run folder. The lock is a numbered file, lock/<n>.json, holding the owner's pid,
// host, process start time and when it took the lock; the highest number is the current lock.
// Taking it means creating the next number with link(2), which fails if the file exists, so of
// several processes that find the same lock free or stale, exactly one gets the next number.
// Numbers only grow: releasing rewrites the owner's file as released instead of deleting it, and
// the next owner deletes the lower numbers only after its own file exists; a process that created
// a number while a higher one appeared backs off. A lock whose owner is dead (on this host: no
// such pid, or the pid now belongs to a process started later) is stale and taken over the same
// way. A lock from another host cannot be checked and is never taken over.
import { readFileSync } from "node:fs";
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { CamscopeError } from "../errors.ts";
import { outputError } from "../util/files.ts";

export const LOCK_DIR = "lock";

export interface LockOwner {
  pid: number;
  host: string;
  /** When the lock was taken (ISO 8601). */
  started: string;
  /** This lock's unique token. */
  token: string;
  /** The owner process's start time (Linux /proc/<pid>/stat field 22), to tell a reused pid. */
  processStart?: string;
  /** Set when the owner let go. */
  released?: boolean;
}

const ATTEMPTS = 50;
const LOCK_FILE = /^(\d+)\.json$/;

/** A process's start time in clock ticks since boot, where /proc tells it. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (the command) may hold spaces and parentheses: count fields after its last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether the owner of a lock taken on this host still runs. */
export function alive(owner: Pick<LockOwner, "pid" | "processStart">): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const started = processStart(owner.pid);
  return (
    owner.processStart === undefined || started === undefined || started === owner.processStart
  );
}

async function generations(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .map((n) => LOCK_FILE.exec(n)?.[1])
    .filter((n) => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function inUse(runDir: string, owner: LockOwner, path: string): CamscopeError {
  const here = owner.host === hostname();
  const who = `process ${owner.pid}${owner.pid === process.pid && here ? " (this process)" : ""} on ${owner.host}, since ${owner.started}`;
  return new CamscopeError(
    "RUN_IN_USE",
    `Run folder "${runDir}" is in use by another camscope evaluate (${who}); one writer at a time keeps every record stored once`,
    {
      hint: here
        ? "wait for it to finish, or give another --out folder"
        : `if no camscope runs on ${owner.host} any more, delete "${path}"`,
    },
  );
}

export class RunLock {
  readonly runDir: string;
  readonly path: string;
  readonly owner: LockOwner;
  private released = false;

  private constructor(runDir: string, path: string, owner: LockOwner) {
    this.runDir = runDir;
    this.path = path;
    this.owner = owner;
  }

  /** Takes the lock of `runDir` (which must exist), or throws RUN_IN_USE naming the owner. */
  static async acquire(runDir: string): Promise<RunLock> {
    const dir = join(runDir, LOCK_DIR);
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw await outputError(error, dir);
    }
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      started: new Date().toISOString(),
      token: randomUUID(),
      ...(processStart(process.pid) !== undefined
        ? { processStart: processStart(process.pid)! }
        : {}),
    };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const existing = await generations(dir);
      const top = existing.at(-1);
      if (top !== undefined) {
        const path = join(dir, `${top}.json`);
        let current: LockOwner;
        try {
          current = JSON.parse(await readFile(path, "utf8")) as LockOwner;
        } catch (error) {
          // Removed by a new owner cleaning up between our listing and our read: look again.
          if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw new CamscopeError(
            "RUN_IN_USE",
            `Lock file "${path}" of run folder "${runDir}" is not a camscope lock (${(error as Error).message})`,
            { hint: `delete "${path}" if no camscope evaluate writes "${runDir}"` },
          );
        }
        if (!current.released && (current.host !== owner.host || alive(current))) {
          throw inUse(runDir, current, path);
        }
      }
      const next = (top ?? -1) + 1;
      const mine = join(dir, `${next}.json`);
      // Written whole under a temporary name, then linked: a lock file is never seen half-written.
      const temporary = join(dir, `.${process.pid}.${owner.token}.tmp`);
      try {
        await writeFile(temporary, JSON.stringify(owner), { flush: true });
        await link(temporary, mine);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw await outputError(error, mine);
      } finally {
        await unlink(temporary).catch(() => undefined);
      }
      // A process that judged an older number free may have created a higher one meanwhile.
      if ((await generations(dir)).some((g) => g > next)) {
        await unlink(mine).catch(() => undefined);
        continue;
      }
      for (const g of existing) await unlink(join(dir, `${g}.json`)).catch(() => undefined);
      await removeOrphans(dir);
      return new RunLock(runDir, mine, owner);
    }
    throw new CamscopeError(
      "RUN_IN_USE",
      `Could not take the lock of run folder "${runDir}" after ${ATTEMPTS} attempts: other camscope processes keep taking it`,
    );
  }

  /** Lets go: the lock file is rewritten as released (see the module comment). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const temporary = join(this.path, "..", `.${process.pid}.${this.owner.token}.release.tmp`);
    try {
      await writeFile(temporary, JSON.stringify({ ...this.owner, released: true }), {
        flush: true,
      });
      await rename(temporary, this.path);
    } catch {
      // A lock that cannot be rewritten stays as it is; its owner's death makes it stale.
      await unlink(temporary).catch(() => undefined);
    }
  }
}

/** Temporary files left by processes killed while taking the lock. */
async function removeOrphans(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const pid = /^\.(\d+)\..*\.tmp$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    const owner = { pid: Number(pid), host: hostname(), started: "", token: "" };
    if (!alive(owner)) await unlink(join(dir, name)).catch(() => undefined);
  }
}
