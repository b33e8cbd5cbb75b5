// One coordinator per queued run, as one writer per run folder (../lock.ts): the coordinator holds
// a lease in Redis (SET NX with an expiry, renewed while it runs). A second coordinator of the same
// run is refused naming the holder; a lease whose holder died expires, or at once if the holder
// ran on this host and its process is gone. A coordinator that finds its lease taken (it was cut
// off from Redis longer than the lease lasts) stops rather than share the run.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { CamscopeError } from "../../errors.ts";
import { alive, processStart } from "../lock.ts";

export const LEASE_MS = 15_000;

export interface LeaseHolder {
  token: string;
  host: string;
  pid: number;
  processStart?: string;
  /** The run folder it writes. */
  out: string;
  started: string;
}

// KEYS: lease. ARGV: expected value, new value, milliseconds. Replaces the value if it is still
// the expected one (renewal: the same value; take-over: a dead holder's value).
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

// KEYS: lease. ARGV: value, milliseconds. Renews the lease if it is still ours or expired (Redis
// was down longer than the lease lasts, and nobody took it meanwhile).
const RENEW = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

export class CoordinatorLease {
  readonly holder: LeaseHolder;
  private readonly value: string;
  private readonly redis: Redis;
  private readonly key: string;
  private timer: NodeJS.Timeout | undefined;
  private lost: CamscopeError | undefined;

  private constructor(redis: Redis, key: string, holder: LeaseHolder) {
    this.redis = redis;
    this.key = key;
    this.holder = holder;
    this.value = JSON.stringify(holder);
  }

  /** Takes the lease of `key` for a coordinator writing `out`, or throws RUN_IN_USE. */
  static async acquire(
    redis: Redis,
    key: string,
    out: string,
    run: string,
  ): Promise<CoordinatorLease> {
    const start = processStart(process.pid);
    const holder: LeaseHolder = {
      token: randomUUID(),
      host: hostname(),
      pid: process.pid,
      ...(start !== undefined ? { processStart: start } : {}),
      out,
      started: new Date().toISOString(),
    };
    const lease = new CoordinatorLease(redis, key, holder);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await redis.set(key, lease.value, "PX", LEASE_MS, "NX")) === "OK") {
        lease.keepAlive();
        return lease;
      }
      const current = await redis.get(key);
      if (current === null) continue;
      let other: LeaseHolder;
      try {
        other = JSON.parse(current) as LeaseHolder;
      } catch {
        throw new CamscopeError("QUEUE", `Redis key "${key}" is not a camscope coordinator lease`);
      }
      if (other.host === holder.host && !alive(other)) {
        if ((await lease.compareAndSet(current, lease.value)) === 1) {
          lease.keepAlive();
          return lease;
        }
        continue;
      }
      throw new CamscopeError(
        "RUN_IN_USE",
        `Run ${run} is already coordinated by process ${other.pid} on ${other.host} (writing "${other.out}", since ${other.started}); one coordinator per run keeps every record stored once`,
        {
          hint: `wait for it to finish (camscope evaluate ... --status shows its progress); a coordinator that died lets go within ${LEASE_MS / 1000} s`,
        },
      );
    }
    throw new CamscopeError("RUN_IN_USE", `Could not take the coordinator lease of run ${run}`);
  }

  private compareAndSet(expected: string, value: string): Promise<number> {
    return this.redis.eval(
      COMPARE_AND_SET,
      1,
      this.key,
      expected,
      value,
      LEASE_MS,
    ) as Promise<number>;
  }

  private keepAlive(): void {
    this.timer = setInterval(() => {
      (this.redis.eval(RENEW, 1, this.key, this.value, LEASE_MS) as Promise<number>).then(
        (kept) => {
          if (kept === 0 && !this.lost) {
            this.lost = new CamscopeError(
              "RUN_IN_USE",
              `Lost the coordinator lease of the run to another coordinator (this one was cut off from Redis for over ${LEASE_MS / 1000} s); this one stops`,
            );
          }
        },
        () => undefined, // Redis unreachable: the next renewal tries again.
      );
    }, LEASE_MS / 3);
    this.timer.unref();
  }

  /** Throws if the lease was lost to another coordinator. */
  check(): void {
    if (this.lost) throw this.lost;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    const DELETE_IF_MINE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
    await this.redis.eval(DELETE_IF_MINE, 1, this.key, this.value).catch(() => undefined);
  }
}
