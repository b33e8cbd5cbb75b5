// A private Redis for tests and benchmarks: Debian's redis-server started on a free loopback port
// with its data in a temporary folder (never the system's service), persisted to an append-only
// file fsync'ed on every write, so that a killed and restarted server has every job and record.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** The redis-server executable, or undefined where none is installed. */
export function findRedisServer(): string | undefined {
  const candidates = [process.env.REDIS_SERVER, "redis-server", "/usr/bin/redis-server"];
  for (const c of candidates) {
    if (!c) continue;
    const probe = spawnSync(c, ["--version"], { encoding: "utf8" });
    if (probe.status === 0 && /Redis server/.test(probe.stdout)) return c;
  }
  return undefined;
}

/** A free TCP port on the loopback interface (the kernel's pick). */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export class TestRedis {
  readonly port: number;
  readonly dir: string;
  private readonly executable: string;
  private process: ChildProcess | undefined;

  private constructor(executable: string, port: number, dir: string) {
    this.executable = executable;
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server; throws if redis-server is not installed (callers check findRedisServer). */
  static async start(): Promise<TestRedis> {
    const executable = findRedisServer();
    if (!executable) throw new Error("redis-server is not installed");
    const server = new TestRedis(
      executable,
      await freePort(),
      await mkdtemp(join(tmpdir(), "camscope-redis-")),
    );
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const child = spawn(
      this.executable,
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--maxmemory-policy",
        "noeviction",
        "--daemonize",
        "no",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    this.process = child;
    const client = new Redis(this.port, "127.0.0.1", {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    client.on("error", () => undefined); // refused until the server listens: retried below
    try {
      for (let attempt = 0; ; attempt++) {
        if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
        try {
          await client.connect();
          // Loading the append-only file answers LOADING until done.
          if ((await client.ping()) === "PONG") return;
        } catch {
          if (attempt > 200) throw new Error(`redis-server did not start on port ${this.port}`);
          client.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      client.disconnect();
    }
  }

  /** Kills the server with SIGKILL (nothing flushed beyond what was fsync'ed). */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts the server again on the same port and data folder. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
