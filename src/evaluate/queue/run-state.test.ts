import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import type { Redis } from "ioredis";
import { CamscopeError } from "../../errors.ts";
import type { EvalRecord } from "../records.ts";
import { checkQueueUrl, connectQueue } from "./connection.ts";
import { CoordinatorLease, type LeaseHolder } from "./lease.ts";
import { RunState } from "./run-state.ts";
import { freePort, TestRedis } from "./testing/redis-server.ts";
import { redisSkip } from "./testing/skip.ts";

const record = (image: string, method: string, extra: Partial<EvalRecord> = {}): EvalRecord => ({
  image,
  file: `/data/${image}.png`,
  method,
  class: 3,
  label: "star",
  probability: 0.5,
  values: { deletion_auc: 0.25 },
  curves: {},
  cost: { milliseconds: 1, forward: 2, backward: 1 },
  notes: [],
  ...extra,
});

const skip = redisSkip();

describe("queue run state in Redis", { skip }, () => {
  let server: TestRedis;
  let a: Redis;
  let b: Redis;
  before(async () => {
    server = await TestRedis.start();
    a = await connectQueue(server.url);
    b = await connectQueue(server.url);
  });
  after(async () => {
    a?.disconnect();
    b?.disconnect();
    await server?.stop();
  });

  test("a record stored by racing writers is stored once; the stream hands it over with its example", async () => {
    const one = new RunState(a, "f".repeat(64));
    const two = new RunState(b, "f".repeat(64));
    const records = Array.from({ length: 40 }, (_, i) =>
      record(`img${i}`, i % 2 ? "gradcam" : "scorecam"),
    );
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255, 10, 13]);
    records[0]!.example = "examples/scorecam/0.png";
    // Two writers store every record at once, as a retried job does beside the job it replaces.
    const results = await Promise.all(
      [one, two].flatMap((s) => records.map((r) => s.storeRecord(r, r.example ? png : undefined))),
    );
    for (let i = 0; i < records.length; i++) {
      assert.equal(Number(results[i]) + Number(results[records.length + i]), 1, `record ${i}`);
    }
    assert.equal(await one.pending(), 40);
    assert.equal(await one.storedCount(), 40);
    const entries = await one.read(100);
    assert.equal(entries.length, 40);
    const first = entries.find((e) => e.kind === "record" && e.record.image === "img0");
    assert.ok(first && first.kind === "record");
    assert.deepEqual(first.record, records[0]);
    assert.equal(first.example?.path, "examples/scorecam/0.png");
    assert.ok(first.example?.png.equals(png));
    assert.ok(entries.every((e) => e.kind !== "record" || e.record.image === "img0" || !e.example));

    await one.storeFailure({ image: "bad", file: "/data/bad.png", error: "not an image" });
    const [failure] = (await one.read(100)).filter((e) => e.kind === "failed");
    assert.deepEqual(failure && { ...failure, id: "" }, {
      id: "",
      kind: "failed",
      image: "bad",
      file: "/data/bad.png",
      error: "not an image",
    });
    assert.deepEqual(await one.failures(), { bad: "not an image" });

    await one.acknowledge(entries.map((e) => e.id));
    assert.equal(await one.pending(), 1);
    // Done marks survive the stream: the record is not stored again.
    assert.equal(await two.storeRecord(records[5]!), false);
    assert.equal(await one.pending(), 1);
    await one.unmark(["img5\u0000gradcam"]);
    assert.equal(await two.storeRecord(records[5]!), true);
    await one.remove();
    assert.equal(await one.pending(), 0);
    assert.equal(await one.storedCount(), 0);
  });

  test("one coordinator per run: a second is refused naming the first; a dead one's lease is taken over", async () => {
    const key = "camscope:{lease-test}:lease";
    const first = await CoordinatorLease.acquire(a, key, "/runs/a", "lease-test");
    await assert.rejects(
      CoordinatorLease.acquire(b, key, "/runs/b", "lease-test"),
      (e: unknown) =>
        e instanceof CamscopeError &&
        e.code === "RUN_IN_USE" &&
        e.message.startsWith(
          `Run lease-test is already coordinated by process ${process.pid} on ${hostname()} (writing "/runs/a", since `,
        ),
    );
    await first.release();
    const second = await CoordinatorLease.acquire(b, key, "/runs/b", "lease-test");
    await second.release();

    // A holder on this host whose process is gone (a coordinator killed with SIGKILL).
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((done) => dead.on("exit", done));
    const holder: LeaseHolder = {
      token: "t",
      host: hostname(),
      pid: dead.pid!,
      out: "/runs/dead",
      started: new Date().toISOString(),
    };
    await a.set(key, JSON.stringify(holder), "PX", 60_000);
    const taken = await CoordinatorLease.acquire(b, key, "/runs/c", "lease-test");
    assert.equal((JSON.parse((await a.get(key))!) as LeaseHolder).out, "/runs/c");
    await taken.release();
    assert.equal(await a.get(key), null);
  });
});

describe("queue addresses", () => {
  test("an unreachable queue and a malformed URL are one line naming the cause", async () => {
    const port = await freePort();
    await assert.rejects(
      connectQueue(`redis://127.0.0.1:${port}`),
      (e: unknown) =>
        e instanceof CamscopeError &&
        e.code === "QUEUE" &&
        e.message ===
          `Cannot reach the queue at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    const bad: [string, RegExp][] = [
      [
        "localhost:6379",
        /^--queue "localhost:6379": the scheme must be redis:\/\/ or rediss:\/\/, got localhost:\/\/$/,
      ],
      ["http://h:1", /the scheme must be redis:\/\/ or rediss:\/\/, got http:\/\//],
      ["not a url", /^--queue "not a url" is not a URL: give redis:\/\/host:port$/],
    ];
    for (const [url, message] of bad) {
      assert.throws(
        () => checkQueueUrl(url),
        (e: unknown) => e instanceof CamscopeError && message.test(e.message),
        url,
      );
    }
  });
});
