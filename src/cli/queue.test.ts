import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CamscopeError } from "../errors.ts";
import { connectQueue } from "../evaluate/queue/connection.ts";
import { jobId, type BatchJob, type BatchResult } from "../evaluate/queue/coordinator.ts";
import { QUEUE_NAME, runKeys } from "../evaluate/queue/run-state.ts";
import { TestRedis } from "../evaluate/queue/testing/redis-server.ts";
import { redisSkip } from "../evaluate/queue/testing/skip.ts";
import { recordKey } from "../evaluate/records.ts";
import { CONFIG_FILE, RECORDS_FILE } from "../evaluate/store.ts";
import { camscope } from "./testing/harness.ts";
import {
  assertSameRun,
  byKey,
  killGroup,
  lineCount,
  recordsWithoutTime,
  startCamscope,
  waitFor,
  writeSampleCopies,
  type CliProcess,
} from "./testing/processes.ts";
import { QUEUE_ENV } from "./worker-env.ts";

const METHODS = ["gradcam", "scorecam"];
// The samples twice over: 14 images, one per batch.
const COPIES = 2;
const IMAGES = 7 * COPIES;

const skip = redisSkip();

describe("evaluate --queue with camscope worker processes", { skip }, () => {
  let dir: string;
  let data: string;
  let server: TestRedis;
  let redis: Redis;
  const started: CliProcess[] = [];
  const alive = (p: CliProcess) => p.child.exitCode === null && p.child.signalCode === null;
  const at = (name: string) => join(dir, name);
  const args = (out: string, extra: string[] = []) => [
    "evaluate",
    "--model",
    "synth-resnet",
    "--data",
    data,
    "--methods",
    METHODS.join(","),
    "--metrics",
    "average-drop,pointing",
    "--batch-size",
    "1",
    "--threads",
    "1",
    "--examples",
    "3",
    "--out",
    out,
    ...extra,
  ];
  // Jobs of a killed worker go back to the queue 2 s after its last lock renewal.
  const worker = () =>
    start(["worker", "--queue", server.url, "--threads", "1", "--stall-timeout", "2"]);
  const start = (cliArgs: string[]) => {
    const p = startCamscope(cliArgs, { group: true });
    started.push(p);
    return p;
  };
  const runHash = async (out: string) =>
    (JSON.parse(await readFile(join(out, CONFIG_FILE), "utf8")) as { hash: string }).hash;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "camscope-queue-"));
    data = await writeSampleCopies(at("data"), COPIES);
    server = await TestRedis.start();
    redis = await connectQueue(server.url);
    const single = await camscope(args(at("single")));
    assert.equal(single.code, 0, single.stderr);
  });
  after(async () => {
    for (const p of started) await killGroup(p);
    redis?.disconnect();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("three workers, one killed with SIGKILL mid-job, one started late, Redis killed and restarted mid-run: the run folder equals a single run", async () => {
    const out = at("queued");
    const coordinator = start([...args(out), "--queue", server.url]);
    const victim = worker();
    const steady = worker();
    await waitFor(
      "the run folder's configuration",
      async () => (await lineCount(join(out, CONFIG_FILE))) > 0,
    );
    const keys = runKeys(await runHash(out));
    const queue = new Queue<BatchJob, BatchResult>(QUEUE_NAME, { connection: redis });
    queue.on("error", () => undefined); // While Redis restarts; the connection retries.
    try {
      // Kill the victim while it computes a batch whose first method's record is stored and whose
      // second is not: the job is cut in the middle.
      const name = `${hostname()}:${victim.child.pid}`;
      let cut: { batch: number; stored: number } | undefined;
      await waitFor("a batch half stored by the victim", async () => {
        const job = (await queue.getActive()).find((j) => j.processedBy === name);
        if (!job) return false;
        const id = job.data.images[0]!.id;
        const done = await redis.hmget(keys.done, ...METHODS.map((m) => recordKey(id, m)));
        const stored = done.filter((v) => v !== null).length;
        if (stored !== 1) return false;
        cut = { batch: job.data.batch, stored };
        return true;
      });
      await killGroup(victim);
      assert.equal(victim.child.signalCode, "SIGKILL");

      const status = await camscope([...args(out), "--queue", server.url, "--status"]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(
        status.stdout,
        new RegExp(
          `^run [0-9a-f]{12}: \\d+ of ${IMAGES * 2} records stored by workers \\(\\d+%\\)`,
        ),
      );
      assert.match(
        status.stdout,
        new RegExp(
          `\\njobs: \\d+ waiting, \\d+ waiting to be retried, \\d+ running, 0 failed \\(of ${IMAGES} batches\\)\\n`,
        ),
      );
      assert.match(
        status.stdout,
        new RegExp(`\\ncoordinator: process ${coordinator.child.pid} on `),
      );

      // The queue is paused (the steady worker finishes its batch and takes no other) while Redis
      // dies (SIGKILL) and comes back from its append-only file, and a third worker starts; then
      // the late worker and the steady one share what is left.
      await queue.pause();
      const before = await redis.hlen(keys.done);
      await server.restart();
      assert.ok((await redis.hlen(keys.done)) >= before, "done marks survive the restart");
      const late = worker();
      await waitFor("the late worker", () => late.stderr().includes("taking batches"));
      await queue.resume();

      const code = await coordinator.exited;
      assert.equal(code, 0, coordinator.stderr());
      // Every record reached the run folder once: none was stored twice by the retried job.
      assert.match(
        coordinator.stderr(),
        new RegExp(
          `received ${IMAGES * 2} records from workers, 0 of them already in the run folder`,
        ),
      );
      await assertSameRun(out, at("single"));
      assert.equal(await lineCount(join(out, RECORDS_FILE)), IMAGES * 2);

      // The cut batch was finished by another worker; the late worker took batches too.
      const finished = (p: CliProcess) =>
        [...p.stderr().matchAll(/ batch (\d+): (\d+) records stored, (\d+) already stored/g)].map(
          (m) => ({ batch: Number(m[1]), written: Number(m[2]), resumed: Number(m[3]) }),
        );
      const redone = [...finished(steady), ...finished(late)].find((f) => f.batch === cut!.batch);
      assert.deepEqual(redone && { written: redone.written, resumed: redone.resumed }, {
        written: 1,
        resumed: 1,
      });
      assert.ok(finished(late).length > 0, `the late worker took no batch:\n${late.stderr()}`);
      // The coordinator cleaned up: no state and no job of the run is left in Redis.
      assert.equal(await redis.exists(keys.meta, keys.done, keys.stream, keys.failed), 0);
      assert.equal((await queue.getJobs(["wait", "active", "delayed", "failed"])).length, 0);
    } finally {
      await queue.close();
    }
  });

  test("a coordinator killed mid-run: workers go on, and a rerun collects what they stored and finishes only what is missing", async () => {
    const out = at("rerun");
    const limit = ["--limit", "8"];
    if (!started.some((p) => alive(p) && p.stderr().includes("taking batches"))) worker();
    const first = start([...args(out, limit), "--queue", server.url]);
    await waitFor(
      "3 records in the run folder",
      async () => (await lineCount(join(out, RECORDS_FILE))) >= 3,
    );
    await killGroup(first);
    const keys = runKeys(await runHash(out));
    // The worker keeps storing records nobody moves to the folder for now.
    await waitFor("records left in the stream", async () => (await redis.xlen(keys.stream)) > 0);
    const inFolder = await lineCount(join(out, RECORDS_FILE));

    const rerun = await camscope([...args(out, limit), "--queue", server.url]);
    assert.equal(rerun.code, 0, rerun.stderr);
    // Records the killed coordinator had appended but not yet deleted from the stream come again.
    const [, received, again] = /received (\d+) records from workers, (\d+) of them/.exec(
      rerun.stderr,
    )!;
    assert.equal(Number(received) - Number(again), 16 - inFolder);
    const reference = byKey(await recordsWithoutTime(at("single")));
    const records = byKey(await recordsWithoutTime(out));
    assert.equal(records.size, 16);
    for (const [key, r] of records) assert.deepEqual(r, reference.get(key), key);
  });

  test("a worker that reads another dataset or other image bytes refuses the run (RUN_MISMATCH); with the coordinator's data it runs the same jobs", async () => {
    // No worker process: this test runs the jobs itself, with the processor a worker runs.
    for (const p of started) await killGroup(p);
    const out = at("mismatch");
    const coordinating = camscope([...args(out, ["--limit", "2"]), "--queue", server.url]);
    await waitFor("the run folder", async () => (await lineCount(join(out, CONFIG_FILE))) > 0);
    const hash = await runHash(out);
    const queue = new Queue<BatchJob, BatchResult>(QUEUE_NAME, { connection: redis });
    const jobs = await (async () => {
      await waitFor(
        "the run's jobs",
        async () => (await queue.getJob(jobId(hash, 1))) !== undefined,
      );
      return Promise.all([0, 1].map(async (k) => (await queue.getJob(jobId(hash, k)))!.data));
    })();
    await queue.close();

    process.env[QUEUE_ENV] = server.url;
    const { default: processBatch, releaseProcessor } = await import("./worker-processor.ts");
    const call = (data: BatchJob) => processBatch({ data } as Parameters<typeof processBatch>[0]);
    const annotations = await readFile(data, "utf8");
    const first = join(at("data"), "star-0.png");
    const bytes = await readFile(first);
    try {
      await writeFile(
        data,
        annotations
          .replace('"labels":[3]', '"labels":[4]')
          .replace('"category_id":3,', '"category_id":4,'),
      );
      await assert.rejects(
        call(jobs[0]!),
        (e: unknown) =>
          e instanceof CamscopeError &&
          e.code === "RUN_MISMATCH" &&
          /^This worker \(.*\) cannot take run [0-9a-f]{12}: its configuration differs here \(dataset: /.test(
            e.message,
          ) &&
          e.message.endsWith(
            "workers must see the coordinator's model and dataset at the same paths",
          ),
      );
      await writeFile(data, annotations);
      await writeFile(first, Buffer.concat([bytes, Buffer.from([0])]));
      await assert.rejects(
        call(jobs[0]!),
        (e: unknown) =>
          e instanceof CamscopeError &&
          e.code === "RUN_MISMATCH" &&
          e.message.includes(`reads other bytes in image "${first}" (record `) &&
          e.message.endsWith("than the coordinator hashed; workers must share the dataset's files"),
      );
      await writeFile(first, bytes);
      // With the coordinator's data the jobs run, and the coordinator finishes the run.
      for (const job of jobs) {
        assert.deepEqual(await call(job), { written: 2, resumed: 0, failed: 0, flagged: 0 });
      }
      const run = await coordinating;
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /received 4 records from workers, 0 of them already in the run folder/,
      );
      const reference = byKey(await recordsWithoutTime(at("single")));
      for (const [key, r] of byKey(await recordsWithoutTime(out))) {
        assert.deepEqual(r, reference.get(key), key);
      }
    } finally {
      await writeFile(data, annotations);
      await writeFile(first, bytes);
      await releaseProcessor();
    }
  });

  test("Redis loses all its data mid-run (FLUSHALL): the coordinator publishes the run again and every record still reaches the run folder once", async () => {
    const out = at("flushed");
    // All 14 images: the flush must come while jobs are still left. With 4, a worker finished
    // every job within the coordinator's 500 ms poll, before the test saw 2 records, and the
    // run completed without ever being lost.
    const first = worker();
    const coordinator = start([...args(out), "--queue", server.url]);
    await waitFor(
      "2 records in the run folder",
      async () => (await lineCount(join(out, RECORDS_FILE))) >= 2,
    );
    // A worker that knew the run dies with the data; the next one learns the run from Redis only.
    await killGroup(first);
    await redis.flushall();
    worker();
    assert.equal(await coordinator.exited, 0, coordinator.stderr());
    assert.match(coordinator.stderr(), /the run is gone from Redis \(its data was lost\)/);
    const reference = byKey(await recordsWithoutTime(at("single")));
    const records = byKey(await recordsWithoutTime(out)); // fails on a record stored twice
    assert.equal(records.size, IMAGES * METHODS.length);
    for (const [key, r] of records) assert.deepEqual(r, reference.get(key), key);
  });

  test("an unreachable queue is one line, before any work", async () => {
    const run = await camscope([...args(at("nowhere")), "--queue", "redis://127.0.0.1:1"]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.split("\n")[0],
      "error: Cannot reach the queue at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1",
    );
    const workerRun = await camscope(["worker", "--queue", "redis://127.0.0.1:1"]);
    assert.equal(workerRun.code, 1);
    assert.match(workerRun.stderr, /^error: Cannot reach the queue at redis:\/\/127\.0\.0\.1:1: /);
  });
});
