// What a chunk of inputs per session run costs (issue 15, item 4): for each model and chunk size,
// milliseconds per input of (a) a forward pass (the inputs of Score-CAM, occlusion, RISE) and
// (b) a gradient run to the input (Integrated Gradients, SmoothGrad), and the peak resident memory
// each run adds. The default chunk size rule (src/runtime/batch-size.ts) was set from these numbers.
//
//   npm run bench:batch-size -- [--model resnet18 ...] [--sizes 1,2,4,8,16,32,64] [--rounds 3]
//     [--inputs 16] [--threads 2] [--max-mib 8192]   (--rounds 0: memory only)
//
// Models: bundled names or .onnx paths; default synth-resnet and the torchvision exports present in
// bench/.models/ (resnet18, resnet50, mobilenet_v2; made by
// `/usr/bin/python3 scripts/reference/export_bench_models.py --models resnet50 mobilenet_v2`).
//
// Memory: per model and kind of run, one sweep in ascending chunk sizes after a warm-up run at
// chunk 1; before each run the process's peak RSS is reset (/proc/self/clear_refs, Linux) and its
// peak (VmHWM) after the run, less the RSS after the warm-up, is the memory the chunk needs
// (ONNX Runtime's arena keeps what it grew, so each size's peak includes what smaller ones left).
// Where /proc cannot be written, RSS sampled every 2 ms stands in.
// Time: `rounds` rounds over the sizes (ascending in even rounds, descending in odd ones, so that
// drift in a shared machine's load hits every size), each measurement running at least `inputs`
// inputs in chunks of the size; the median per input is reported, wall and process CPU time.
// A chunk whose estimated memory (the rule's, an over-estimate) passes --max-mib is skipped ("-"),
// so that a full-size model at 64 inputs does not take a shared machine's memory.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { Engine } from "../src/engine/engine.ts";
import { openModel } from "../src/io/models.ts";
import {
  activationBytesPerInput,
  GRADIENT_MEMORY_FACTOR,
  planBatch,
} from "../src/runtime/batch-size.ts";
import type { ModelRuntime } from "../src/runtime/runtime.ts";
import { sizeOf, type FloatTensor } from "../src/tensor/tensor.ts";
import { benchImages, formatTable } from "./harness.ts";

const EXPORTS = join(dirname(fileURLToPath(import.meta.url)), ".models");
const FULL_SIZE = ["resnet18", "resnet50", "mobilenet_v2"];
const MIB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    model: { type: "string", multiple: true },
    sizes: { type: "string", default: "1,2,4,8,16,32,64" },
    rounds: { type: "string", default: "3" },
    inputs: { type: "string", default: "16" },
    threads: { type: "string" },
    "max-mib": { type: "string", default: "8192" },
  },
});
const count = (flag: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be an integer >= 1`);
  return n;
};
const sizes = values.sizes.split(",").map((s) => count("sizes", s.trim()));
const rounds = values.rounds === "0" ? 0 : count("rounds", values.rounds);
const minInputs = count("inputs", values.inputs);
const maxMiB = count("max-mib", values["max-mib"]);
const threads = values.threads === undefined ? undefined : count("threads", values.threads);
const models = values.model ?? [
  "synth-resnet",
  ...FULL_SIZE.map((m) => join(EXPORTS, `${m}.onnx`)).filter((p) => existsSync(p)),
];

/** Resets the process's peak RSS; false where /proc/self/clear_refs cannot be written. */
function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function peakRss(): number {
  const line = readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+) kB/);
  return line ? Number(line[1]) * 1024 : 0;
}

/** The peak RSS while `fn` runs. */
async function peakDuring(fn: () => Promise<unknown>): Promise<number> {
  if (resetPeak()) {
    await fn();
    return peakRss();
  }
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss);
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type Kind = "forward" | "gradient";

/** One run of each kind on `chunk` inputs, as the pipelines make them. */
function runs(rt: ModelRuntime, images: FloatTensor, classes: number[]) {
  const per = sizeOf(images.dims.slice(1));
  const rows = (chunk: number): FloatTensor => ({
    data: images.data.subarray(0, chunk * per),
    dims: [chunk, ...images.dims.slice(1)],
  });
  return {
    forward: (chunk: number) => rt.forward(rows(chunk), { batchSize: chunk }),
    gradient: (chunk: number) =>
      rt.gradients(
        rows(chunk),
        { classes: classes.slice(0, chunk), score: "logit", binary: false },
        { wrt: [rt.input.name] },
      ),
  };
}

const engine = new Engine(threads !== undefined ? { threads } : {});
console.log(
  `camscope bench:batch-size: ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ` +
    `${availableParallelism()} cores, Node ${process.versions.node}, onnxruntime-node ` +
    `${ort.env.versions.common}, threads ${threads ?? "all"}; ${rounds} rounds, >= ${minInputs} ` +
    `inputs per measurement; memory: ${resetPeak() ? "peak RSS (VmHWM)" : "RSS sampled every 2 ms"}`,
);
const rows: string[][] = [];
try {
  for (const name of models) {
    const rt = await openModel(name, engine);
    const shapes = await rt.shapes();
    const bytes = activationBytesPerInput(shapes);
    const plan = planBatch(bytes);
    const largest = Math.max(...sizes);
    const images = benchImages(rt, largest);
    // Any class will do; picking the top ones would run the forward session at the engine's
    // chunk size first and grow its arena before the memory sweep.
    const units = await rt.units();
    const classes = Array.from({ length: largest }, (_, i) => i % units);
    const run = runs(rt, images, classes);
    const kinds: Kind[] = ["forward", "gradient"];
    const fits = (kind: Kind, chunk: number) =>
      (chunk * bytes * (kind === "gradient" ? GRADIENT_MEMORY_FACTOR : 1)) / MIB <= maxMiB;

    // Memory first, in ascending sizes, each kind on its own session after a warm-up at chunk 1.
    const memory = new Map<string, number>();
    for (const kind of kinds) {
      await run[kind](1);
      const base = process.memoryUsage().rss;
      for (const chunk of [...sizes].sort((a, b) => a - b)) {
        if (!fits(kind, chunk)) continue;
        memory.set(`${kind}/${chunk}`, (await peakDuring(() => run[kind](chunk))) - base);
      }
    }

    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      const order = [...sizes].sort((a, b) => (round % 2 ? b - a : a - b));
      for (const chunk of order) {
        for (const kind of kinds) {
          if (!fits(kind, chunk)) continue;
          const repeats = Math.max(1, Math.ceil(minInputs / chunk));
          const cpuStart = process.cpuUsage();
          const start = performance.now();
          for (let r = 0; r < repeats; r++) await run[kind](chunk);
          const inputs = repeats * chunk;
          const used = process.cpuUsage(cpuStart);
          const key = `${kind}/${chunk}`;
          wall.set(key, [...(wall.get(key) ?? []), (performance.now() - start) / inputs]);
          cpu.set(key, [...(cpu.get(key) ?? []), (used.user + used.system) / 1000 / inputs]);
        }
      }
    }
    for (const chunk of sizes) {
      const cell = (kind: Kind) =>
        fits(kind, chunk)
          ? [
              rounds > 0 ? median(wall.get(`${kind}/${chunk}`)!).toFixed(1) : "-",
              rounds > 0 ? median(cpu.get(`${kind}/${chunk}`)!).toFixed(1) : "-",
              (memory.get(`${kind}/${chunk}`)! / MIB).toFixed(0),
            ]
          : ["-", "-", "-"];
      rows.push([
        rt.card.name,
        String(chunk),
        ...cell("forward"),
        ...cell("gradient"),
        (chunk * plan.perInputMiB).toFixed(0),
        chunk === plan.size ? "<- default" : "",
      ]);
    }
    console.error(
      `${rt.card.name}: forward values ${(bytes / MIB).toFixed(1)} MiB per input, ` +
        `default chunk ${plan.size} (est. ${plan.memoryMiB.toFixed(0)} MiB)`,
    );
  }
} finally {
  await engine.dispose();
}
console.log(
  `\n${formatTable({
    columns: [
      "model",
      "chunk",
      "fwd ms/input",
      "fwd CPU ms/input",
      "fwd peak +MiB",
      "grad ms/input",
      "grad CPU ms/input",
      "grad peak +MiB",
      "est. grad MiB",
      "",
    ],
    rows,
    numeric: [1, 2, 3, 4, 5, 6, 7, 8],
  })}`,
);
