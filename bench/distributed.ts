// `npm run bench:distributed [-- --part scaling|cost] [--copies 8] [--workers 1,2,4]`
//
// scaling: the same evaluation (synth-resnet, gradcam and scorecam, deletion/insertion and
//   average drop, batches of 2, the samples --copies times over) run by one local process and on
//   the queue with 1, 2 and 4 worker processes (one ONNX Runtime thread each), each against a
//   private redis-server. Throughput is measured at steady state, between 10% and 90% of the
//   records stored (process start-up and the last stragglers left out), and the wall time of the
//   whole run is printed beside it. Efficiency = rate(k) / (k * rate(1 worker)).
// cost: the per-image cost of every CAM method and of the metrics on a full-size ResNet-50
//   (bench/.models/resnet50.onnx, written by scripts/reference/export_bench_models.py), on a few
//   sample images, and from it the machine-hours of a 50,000-image, 15-method evaluation.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Redis } from "ioredis";
import { camscope } from "../src/cli/testing/harness.ts";
import {
  killGroup,
  lineCount,
  startCamscope,
  waitFor,
  writeSampleCopies,
  type CliProcess,
} from "../src/cli/testing/processes.ts";
import type { EvalRecord } from "../src/evaluate/records.ts";
import { connectQueue } from "../src/evaluate/queue/connection.ts";
import { runKeys } from "../src/evaluate/queue/run-state.ts";
import { findRedisServer, TestRedis } from "../src/evaluate/queue/testing/redis-server.ts";
import { CONFIG_FILE, RECORDS_FILE } from "../src/evaluate/store.ts";
import { imagenetLabels } from "../src/labels/index.ts";
import { formatTable } from "./harness.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const METHODS = ["gradcam", "scorecam"];

const { values } = parseArgs({
  options: {
    part: { type: "string", multiple: true },
    copies: { type: "string", default: "8" },
    workers: { type: "string", default: "1,2,4" },
  },
});
const parts = values.part ?? ["scaling", "cost"];

/** Samples of (seconds, records) until `done`; the steady rate between 10% and 90% of `total`. */
class Rate {
  private readonly points: [number, number][] = [];
  private readonly start = performance.now();
  add(records: number): void {
    this.points.push([(performance.now() - this.start) / 1000, records]);
  }
  /** Records per second between the first sample at >= 10% and the first at >= 90%. */
  steady(total: number): number {
    const at = (share: number) => this.points.find(([, n]) => n >= share * total)!;
    const [t0, n0] = at(0.1);
    const [t1, n1] = at(0.9);
    return (n1 - n0) / (t1 - t0);
  }
  get seconds(): number {
    return this.points.at(-1)![0];
  }
}

async function scaling(): Promise<void> {
  if (!findRedisServer()) throw new Error("redis-server not found (apt-get install redis-server)");
  const copies = Number(values.copies);
  const counts = values.workers!.split(",").map(Number);
  const dir = await mkdtemp(join(tmpdir(), "camscope-bench-dist-"));
  const server = await TestRedis.start();
  const redis: Redis = await connectQueue(server.url);
  const data = await writeSampleCopies(join(dir, "data"), copies);
  const images = 7 * copies;
  const total = images * METHODS.length;
  const args = (out: string) => [
    "evaluate",
    ...["--model", "synth-resnet", "--data", data, "--methods", METHODS.join(",")],
    ...["--metrics", "deletion-insertion,average-drop", "--batch-size", "2", "--threads", "1"],
    ...["--examples", "0", "--out", out],
  ];
  const rows: string[][] = [];
  try {
    // One local process: records counted in its run folder.
    {
      const out = join(dir, "local");
      const rate = new Rate();
      const run = startCamscope(args(out), { group: true });
      while (run.child.exitCode === null) {
        rate.add(await lineCount(join(out, RECORDS_FILE)));
        await new Promise((r) => setTimeout(r, 100));
      }
      rate.add(await lineCount(join(out, RECORDS_FILE)));
      if ((await run.exited) !== 0) throw new Error(`local run failed:\n${run.stderr()}`);
      rows.push([
        "local (1 process)",
        (rate.steady(total) / METHODS.length).toFixed(2),
        "",
        "",
        rate.seconds.toFixed(1),
      ]);
    }
    let base = 0;
    for (const k of counts) {
      const out = join(dir, `queue-${k}`);
      const workers: CliProcess[] = [];
      for (let i = 0; i < k; i++) {
        workers.push(
          startCamscope(["worker", "--queue", server.url, "--threads", "1"], { group: true }),
        );
      }
      const rate = new Rate();
      const coordinator = startCamscope([...args(out), "--queue", server.url], { group: true });
      await waitFor("the run folder", async () => (await lineCount(join(out, CONFIG_FILE))) > 0);
      const { hash } = JSON.parse(await readFile(join(out, CONFIG_FILE), "utf8")) as {
        hash: string;
      };
      const done = runKeys(hash).done;
      let stored = 0;
      while (coordinator.child.exitCode === null) {
        // The done hash goes when the coordinator cleans up: keep the last count.
        stored = Math.max(stored, await redis.hlen(done));
        rate.add(stored);
        await new Promise((r) => setTimeout(r, 100));
      }
      rate.add(total);
      if ((await coordinator.exited) !== 0)
        throw new Error(`queue run failed:\n${coordinator.stderr()}`);
      for (const w of workers) await stop(w);
      const perSecond = rate.steady(total) / METHODS.length;
      if (k === counts[0]) base = perSecond / k;
      rows.push([
        `queue, ${k} worker${k > 1 ? "s" : ""}`,
        perSecond.toFixed(2),
        (perSecond / (base * counts[0]!)).toFixed(2),
        `${((100 * perSecond) / (k * base)).toFixed(0)}%`,
        rate.seconds.toFixed(1),
      ]);
    }
  } finally {
    redis.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `\nscaling: synth-resnet, ${METHODS.join(" + ")}, deletion/insertion + average drop, ${images} images in batches of 2, 1 ONNX Runtime thread per process`,
  );
  console.log(
    formatTable({
      columns: ["run", "images/s (steady)", "speed-up", "efficiency", "wall s (with start-up)"],
      rows,
      numeric: [1, 2, 3, 4],
    }),
  );
}

/** SIGTERM: a worker finishes its batch and exits (then its group is gone). */
async function stop(p: CliProcess): Promise<void> {
  process.kill(-p.child.pid!, "SIGTERM");
  const timer = setTimeout(() => void killGroup(p), 10_000);
  await p.exited;
  clearTimeout(timer);
}

const CHEAP = [
  "cam",
  "gradcam",
  "gradcam++",
  "xgradcam",
  "hirescam",
  "gradcam-elementwise",
  "layercam",
  "eigencam",
  "eigengradcam",
  "relevancecam",
  "clustercam",
];
/** Forward passes per image of the methods extrapolated from Score-CAM's cost per pass. */
const EXTRAPOLATED: Record<string, number> = { sscam: 8 * 2048 + 2, iscam: 8 * 2048 + 2 };
const DATASET = 50_000;

/**
 * The bundled samples with their categories renamed to ImageNet-1k classes of the same index: the
 * full-size exports carry ImageNet's 1000 labels, which the samples' shape names are not among.
 * Returns the annotations' path.
 */
async function imagenetSamples(dir: string): Promise<string> {
  const annotations = await writeSampleCopies(dir, 1);
  const labels = await imagenetLabels();
  const coco = JSON.parse(await readFile(annotations, "utf8")) as {
    categories: { id: number; name: string }[];
  };
  coco.categories = coco.categories.map((c) => ({ ...c, name: labels[c.id]! }));
  await writeFile(annotations, JSON.stringify(coco));
  return annotations;
}

async function cost(): Promise<void> {
  const model = join(ROOT, "bench", ".models", "resnet50.onnx");
  if (!existsSync(model)) {
    throw new Error(
      `${model} is missing: /usr/bin/python3 scripts/reference/export_bench_models.py --models resnet50`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "camscope-bench-cost-"));
  const data = await imagenetSamples(join(dir, "data"));
  const threads = String(Math.min(2, availableParallelism()));
  const run = async (name: string, methods: string[], metrics: string, limit: number) => {
    const out = join(dir, name);
    const started = performance.now();
    const result = await camscope([
      "evaluate",
      ...["--model", model, "--data", data],
      ...["--methods", methods.join(","), "--metrics", metrics, "--limit", String(limit)],
      ...["--batch-size", String(limit), "--threads", threads, "--examples", "0", "--out", out],
    ]);
    if (result.code !== 0) throw new Error(result.stderr);
    const text = await readFile(join(out, RECORDS_FILE), "utf8");
    const records = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as EvalRecord);
    return { records, seconds: (performance.now() - started) / 1000 };
  };
  const perImage = new Map<string, { ms: number; forward: number; how: string }>();
  const mean = (rs: EvalRecord[], f: (r: EvalRecord) => number) =>
    rs.reduce((s, r) => s + f(r), 0) / rs.length;
  try {
    const cheap = await run("cheap", CHEAP, "average-drop", 2);
    for (const m of CHEAP) {
      const own = cheap.records.filter((r) => r.method === m);
      perImage.set(m, {
        ms: mean(own, (r) => r.cost.milliseconds),
        forward: mean(own, (r) => r.cost.forward),
        how: "measured, 2 images",
      });
    }
    for (const m of ["scorecam", "ablationcam"]) {
      const { records } = await run(m, [m], "average-drop", 1);
      perImage.set(m, {
        ms: records[0]!.cost.milliseconds,
        forward: records[0]!.cost.forward,
        how: "measured, 1 image",
      });
    }
    const score = perImage.get("scorecam")!;
    for (const [m, forward] of Object.entries(EXTRAPOLATED)) {
      perImage.set(m, {
        ms: (score.ms / score.forward) * forward,
        forward,
        how: "Score-CAM's ms per pass x passes",
      });
    }
    // Metrics: gradcam with and without deletion/insertion and pointing.
    const light = await run("light", ["gradcam"], "average-drop", 2);
    const heavy = await run("heavy", ["gradcam"], "deletion-insertion,average-drop,pointing", 2);
    const metricsMs = ((heavy.seconds - light.seconds) / 2) * 1000;
    const rows = [...perImage.entries()]
      .sort((a, b) => a[1].ms - b[1].ms)
      .map(([m, c]) => [m, c.ms.toFixed(0), String(Math.round(c.forward)), c.how]);
    console.log(
      `\ncost per image on a full-size ResNet-50 (layer4: 2048 channels), ${threads} ONNX Runtime threads`,
    );
    console.log(
      formatTable({
        columns: ["method", "explain ms/image", "forward passes", "how"],
        rows,
        numeric: [1, 2],
      }),
    );
    const explainMs = [...perImage.values()].reduce((s, c) => s + c.ms, 0);
    const methods = perImage.size;
    const totalHours = (DATASET * (explainMs + methods * metricsMs)) / 3_600_000;
    console.log(
      `metrics (deletion/insertion + average drop + pointing): ${metricsMs.toFixed(0)} ms per image and method (gradcam run with and without them, 2 images)`,
    );
    console.log(
      `${DATASET} images x ${methods} methods: ${(explainMs / 1000).toFixed(1)} s explaining + ${((methods * metricsMs) / 1000).toFixed(1)} s metrics per image = ${totalHours.toFixed(0)} hours of one such process (${threads} threads)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `camscope bench:distributed: ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${availableParallelism()} cores, Node ${process.versions.node}`,
);
if (parts.includes("scaling")) await scaling();
if (parts.includes("cost")) await cost();
