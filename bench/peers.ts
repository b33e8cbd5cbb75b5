// Side by side with the Python libraries (issue 15): camscope and each peer run the same method on
// the same torchvision model (camscope on its ONNX export, the peer on the PyTorch module with the
// same weights), the same input and classes, the same intra-op thread count, in alternating
// rounds in one run; ms per image and the ratio peer / camscope (> 1: camscope is faster).
//
//   npm run bench:peers -- [--python /usr/bin/python3] [--model resnet18 ...] [--method gradcam ...]
//     [--batch 1 ...] [--peer captum ...] [--rounds 3] [--budget-ms 1500] [--threads 2] [--spin]
//
// Needs a Python with torch and torchvision (--python, or $CAMSCOPE_PYTHON; default python3) and
// the peer packages (bench/peers/peers.py lists them); a missing peer is reported and its rows
// skipped. Models come from bench/.models/<name>.onnx, exported when missing by
// scripts/reference/export_bench_models.py with that Python, which also rebuilds the weights on
// the Python side; the logits of both sides are compared before any timing.
//
// Idle threads sleep on both sides by default, as camscope's Engine has it (ONNX Runtime's
// allow_spinning 0; OMP_WAIT_POLICY=PASSIVE for PyTorch's OpenMP): on a machine shared with other
// busy processes spinning threads lose their cores and both libraries slow down several times,
// PyTorch most. --spin lets both spin (ONNX Runtime's and OpenMP's defaults), for idle machines.
//
// Each row: one untimed run per side (sessions, hooks, allocator growth), then `rounds` rounds in
// which each side runs as many times as fit `budget-ms` (at least once), camscope first in even
// rounds and the peer first in odd ones, so that drift in the machine's load hits both. A row
// reports the median of each side's runs, the Pearson correlation of the first image's maps
// (a check that both explained the same thing, not a tolerance: Grad-CAM++ and Score-CAM differ by
// definition, see docs) and whether the classes agree.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { solidImage } from "../src/attribution/baselines.ts";
import { Engine, Tensor } from "../src/engine/engine.ts";
import { Explainer } from "../src/explain/explainer.ts";
import { openModel } from "../src/io/models.ts";
import { chooseMethod, methodNamed, type MethodChoice } from "../src/methods/registry.ts";
import type { ModelRuntime } from "../src/runtime/runtime.ts";
import { decodeNpy, encodeNpy } from "../src/tensor/npy.ts";
import type { FloatTensor } from "../src/tensor/tensor.ts";
import { benchImages, formatTable } from "./harness.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const PEERS_PY = join(HERE, "peers", "peers.py");
const EXPORT_PY = join(ROOT, "scripts", "reference", "export_bench_models.py");
const MODELS_DIR = join(HERE, ".models");
const IG_STEPS = 50;
const MAX_BATCH = 16;
/** camscope's options where the table's rows are not its defaults. */
const OPTIONS: Record<string, Record<string, unknown>> = {
  ig: { steps: IG_STEPS },
  lrp: { composite: "epsilon-plus-flat" },
};
const SMOOTHGRAD = chooseMethod(methodNamed("smoothgrad")).options as {
  samples: number;
  noise: number;
};

/** A method as both sides name it, and where the issue's table measures it. */
interface MethodSpec {
  /** camscope's method name (CAM or pixel attribution). */
  name: string;
  title: string;
  kind: "cam" | "attribution";
  /** Default models and batch sizes (the slow methods at batch 1 on small models only). */
  models: string[];
  batches: number[];
}

const ALL_MODELS = ["resnet18", "resnet50", "mobilenet_v2"];
const METHODS: MethodSpec[] = [
  { name: "gradcam", title: "Grad-CAM", kind: "cam", models: ALL_MODELS, batches: [1, 16] },
  { name: "gradcam++", title: "Grad-CAM++", kind: "cam", models: ALL_MODELS, batches: [1, 16] },
  { name: "eigencam", title: "Eigen-CAM", kind: "cam", models: ALL_MODELS, batches: [1, 16] },
  {
    name: "saliency",
    title: "saliency",
    kind: "attribution",
    models: ALL_MODELS,
    batches: [1, 16],
  },
  {
    name: "guidedbackprop",
    title: "guided backprop",
    kind: "attribution",
    models: ALL_MODELS,
    batches: [1, 16],
  },
  {
    name: "ig",
    title: `IG, ${IG_STEPS} steps`,
    kind: "attribution",
    models: ALL_MODELS,
    batches: [1],
  },
  {
    name: "smoothgrad",
    title: `SmoothGrad, ${SMOOTHGRAD.samples} samples`,
    kind: "attribution",
    models: ALL_MODELS,
    batches: [1],
  },
  {
    name: "lrp",
    title: "LRP epsilon-plus-flat",
    kind: "attribution",
    models: ALL_MODELS,
    batches: [1, 16],
  },
  { name: "scorecam", title: "Score-CAM", kind: "cam", models: ["resnet18"], batches: [1] },
  { name: "ablationcam", title: "Ablation-CAM", kind: "cam", models: ["resnet18"], batches: [1] },
];

function parseOptions() {
  const { values } = parseArgs({
    options: {
      python: { type: "string", default: process.env.CAMSCOPE_PYTHON ?? "python3" },
      model: { type: "string", multiple: true },
      method: { type: "string", multiple: true },
      batch: { type: "string", multiple: true },
      peer: { type: "string", multiple: true },
      rounds: { type: "string", default: "3" },
      "budget-ms": { type: "string", default: "1500" },
      threads: { type: "string", default: "2" },
      spin: { type: "boolean", default: false },
    },
  });
  const positive = (flag: string, value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer`);
    return n;
  };
  const methods = (values.method ?? METHODS.map((m) => m.name)).map((name) => {
    const spec = METHODS.find((m) => m.name === name);
    if (!spec)
      throw new Error(`Unknown --method ${name} (${METHODS.map((m) => m.name).join(", ")})`);
    return spec;
  });
  const batches = values.batch?.map((b) => positive("batch", b));
  if (batches?.some((b) => b > MAX_BATCH)) throw new Error(`--batch is at most ${MAX_BATCH}`);
  return {
    python: values.python!,
    models: values.model,
    methods,
    batches,
    peers: values.peer,
    rounds: positive("rounds", values.rounds!),
    budgetMs: positive("budget-ms", values["budget-ms"]!),
    threads: positive("threads", values.threads!),
    spinning: values.spin!,
  };
}

interface PeerCheck {
  python: string;
  torch: string;
  torchvision: string;
  methods: Record<string, string[]>;
  peers: Record<string, { version?: string; missing?: string; install?: string }>;
}

/** The Python side, one request at a time (JSON lines). */
class PythonPeers {
  private readonly child;
  private readonly lines: AsyncIterator<string>;

  constructor(python: string, threads: number, spinning: boolean, input: string, log: string) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      OMP_NUM_THREADS: String(threads),
      MKL_NUM_THREADS: String(threads),
    };
    if (!spinning) env.OMP_WAIT_POLICY = "PASSIVE";
    this.child = spawn(
      python,
      [PEERS_PY, "serve", "--threads", String(threads), "--input", input],
      {
        stdio: ["pipe", "pipe", "pipe"],
        env,
      },
    );
    // The peers print progress bars and warnings; keep them out of the table.
    const chunks: string[] = [];
    this.child.stderr.on("data", (d: Buffer) => chunks.push(d.toString()));
    this.child.on("exit", () => writeFileSync(log, chunks.join("")));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async request<T>(body: Record<string, unknown>): Promise<T & { error?: string }> {
    this.child.stdin.write(JSON.stringify(body) + "\n");
    const next = await this.lines.next();
    if (next.done) throw new Error("the Python peer process ended (see its log)");
    return JSON.parse(next.value) as T & { error?: string };
  }

  close(): void {
    this.child.stdin.end();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pearson(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** One explanation on camscope's side: the first image's map and every row's class. */
type CamscopeRun = (input: FloatTensor) => Promise<{ map: Float32Array; classes: number[] }>;

/** camscope's method of a row, with the row's options. */
function choiceOf(spec: MethodSpec): MethodChoice {
  return chooseMethod(methodNamed(spec.name), OPTIONS[spec.name] ?? {});
}

function camscopeRun(ctx: ModelRuntime, spec: MethodSpec): CamscopeRun {
  const explainer = new Explainer(ctx);
  const choice = choiceOf(spec);
  return async (input) => {
    const e = await explainer.explain(input, { methods: [choice] });
    const result = e.results[0]!;
    // CAM: the final map; pixel methods: the attribution in the score's units.
    const { data, dims } = spec.kind === "cam" ? result.map : result.raw[0]!;
    return { map: data.slice(0, dims[1]! * dims[2]!), classes: [...e.targets.classes] };
  };
}

/** What the Python side needs to do the same as camscope's method. */
function peerOptions(ctx: ModelRuntime, spec: MethodSpec): Record<string, unknown> {
  const choice = choiceOf(spec);
  const made = choice.method.create(choice.options, ctx.model);
  // LRP sums the input relevance over channels (src/lrp/method.ts); CAM maps have no channels.
  const reduction =
    made.family === "attribution" ? made.method.reduction : made.family === "lrp" ? "sum" : "none";
  const black = solidImage(ctx.card.preprocessing, 0);
  const plane = black.length / 3;
  return {
    reduction,
    steps: IG_STEPS,
    black: [0, 1, 2].map((c) => black[c * plane]!),
    samples: SMOOTHGRAD.samples,
    noise: SMOOTHGRAD.noise,
  };
}

async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function ensureExports(python: string, models: string[]): void {
  const missing = models.filter((m) => !existsSync(join(MODELS_DIR, `${m}.onnx`)));
  if (missing.length === 0) return;
  console.log(`exporting ${missing.join(", ")} to ${MODELS_DIR} ...`);
  execFileSync(python, [EXPORT_PY, "--models", ...missing], { stdio: "inherit" });
}

const options = parseOptions();
let check: PeerCheck;
try {
  check = JSON.parse(
    execFileSync(options.python, [PEERS_PY, "check"], { encoding: "utf8", stdio: "pipe" }),
  ) as PeerCheck;
} catch (error) {
  console.error(
    `The peer benchmark needs a Python with torch and torchvision; "${options.python}" failed:\n` +
      `${(error as { stderr?: string }).stderr ?? String(error)}\n` +
      `Pass --python PATH or set CAMSCOPE_PYTHON.`,
  );
  process.exit(1);
}

const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
console.log(
  `camscope peers bench: ${cpu}, ${availableParallelism()} cores, Node ${process.versions.node}, ` +
    `onnxruntime-node ${ort.env.versions.common}, Python ${check.python}, torch ${check.torch}, ` +
    `torchvision ${check.torchvision}, ${options.threads} threads each side` +
    `${options.spinning ? " (spinning)" : " (idle threads sleep)"}, ${options.rounds} ` +
    `alternating rounds of about ${options.budgetMs} ms per side, ${new Date().toISOString().slice(0, 10)}`,
);
const available = new Set<string>();
for (const [peer, status] of Object.entries(check.peers)) {
  if (options.peers && !options.peers.includes(peer)) continue;
  if (status.version !== undefined) {
    available.add(peer);
    console.log(`  ${peer} ${status.version}`);
  } else {
    console.log(
      `  ${peer}: MISSING, its rows are skipped (${status.missing}); install: ${status.install}`,
    );
  }
}

const modelNames = options.models ?? ALL_MODELS;
ensureExports(options.python, modelNames);
const dir = mkdtempSync(join(tmpdir(), "camscope-peers-"));
const newEngine = () => new Engine({ threads: options.threads, spinning: options.spinning });
// One input for every model and both sides: the bench's synthetic images at 224 x 224.
const images = await (async () => {
  const engine = newEngine();
  try {
    return benchImages(
      await openModel(join(MODELS_DIR, `${modelNames[0]}.onnx`), engine),
      MAX_BATCH,
    );
  } finally {
    await engine.dispose();
  }
})();
const inputPath = join(dir, "input.npy");
writeFileSync(inputPath, encodeNpy(images.data, images.dims));
const logPath = join(dir, "python.log");
const python = new PythonPeers(
  options.python,
  options.threads,
  options.spinning,
  inputPath,
  logPath,
);

interface Row {
  method: string;
  model: string;
  batch: number;
  peer: string;
  camscopeMs: number;
  peerMs: number;
  /** Fastest runs of each side: on a loaded machine the steadier estimate of undisturbed cost. */
  camscopeMinMs: number;
  peerMinMs: number;
  r: string;
  classes: string;
}
const rows: Row[] = [];
const skipped: string[] = [];

let engine: Engine | undefined;
try {
  for (const modelName of modelNames) {
    // An engine per model, disposed when its rows are done: the sessions of every method at
    // batch 16 on four models together outgrew the machine's memory and swapped.
    await engine?.dispose();
    engine = newEngine();
    const ctx = await openModel(join(MODELS_DIR, `${modelName}.onnx`), engine);
    const session = await ctx.session();
    const logits = await session.run(
      { [ctx.input.name]: new Tensor("float32", images.data, images.dims) },
      [ctx.output],
    );
    const ours = logits[ctx.output]!.data as Float32Array;
    const logitsPath = join(dir, `${modelName}-logits.npy`);
    const loaded = await python.request<{ classes: number[] }>({
      cmd: "load",
      model: modelName,
      logits_out: logitsPath,
    });
    if (loaded.error) throw new Error(`Python could not build ${modelName}: ${loaded.error}`);
    const theirs = decodeNpy(readFileSync(logitsPath)).data;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < ours.length; i++) {
      diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
      scale = Math.max(scale, Math.abs(ours[i]!));
    }
    console.log(
      `${modelName}: logits of both sides differ by at most ${(diff / scale).toExponential(1)} of the largest`,
    );
    if (diff > 1e-3 * scale) {
      throw new Error(
        `${modelName}: the PyTorch model is not the one bench/.models/${modelName}.onnx was exported ` +
          `from; re-export it with ${options.python} ${EXPORT_PY} --models ${modelName}`,
      );
    }

    for (const spec of options.methods) {
      if (!options.models && !spec.models.includes(modelName)) continue;
      const peers = (check.methods[spec.name] ?? []).filter((p) => available.has(p));
      if (peers.length === 0) {
        skipped.push(`${spec.title} on ${modelName}: no peer available`);
        continue;
      }
      const ours = camscopeRun(ctx, spec);
      for (const batch of options.batches ?? spec.batches) {
        const input = {
          data: images.data.subarray(0, batch * 3 * 224 * 224),
          dims: [batch, 3, 224, 224],
        };
        const camscopeSamples: number[] = [];
        const results: { peer: string; samples: number[]; r: string; classes: string }[] = [];
        for (const peer of peers) {
          const base = {
            cmd: "run",
            model: modelName,
            peer,
            method: spec.name,
            batch,
            options: peerOptions(ctx, spec),
          };
          // Untimed first runs; their times size the rounds.
          let ourResult = await ours(input);
          const ourFirst = await timeOnce(async () => (ourResult = await ours(input)));
          const mapPath = join(dir, "peer-map.npy");
          const warm = await python.request<{ ms: number[]; classes: number[] }>({
            ...base,
            warmup: 1,
            reps: 1,
            map_out: mapPath,
          });
          if (warm.error) {
            console.log(
              `  !! ${peer} failed on ${spec.title}, ${modelName}, batch ${batch}: ${warm.error}`,
            );
            skipped.push(`${spec.title} on ${modelName}, batch ${batch}, ${peer}: ${warm.error}`);
            continue;
          }
          const peerMap = decodeNpy(readFileSync(mapPath)).data;
          const r = pearson(ourResult.map, peerMap).toFixed(3);
          const same = warm.classes.every((c, i) => c === ourResult.classes[i]);
          const ourReps = Math.max(1, Math.min(10, Math.round(options.budgetMs / ourFirst)));
          const peerReps = Math.max(1, Math.min(10, Math.round(options.budgetMs / warm.ms[0]!)));
          const samples: number[] = [];
          for (let round = 0; round < options.rounds; round++) {
            const runOurs = async () => {
              for (let i = 0; i < ourReps; i++)
                camscopeSamples.push(await timeOnce(() => ours(input)));
            };
            const runPeer = async () => {
              const t = await python.request<{ ms: number[] }>({
                ...base,
                warmup: 0,
                reps: peerReps,
              });
              if (t.error) throw new Error(`${peer}: ${t.error}`);
              samples.push(...t.ms);
            };
            if (round % 2 === 0) {
              await runOurs();
              await runPeer();
            } else {
              await runPeer();
              await runOurs();
            }
          }
          results.push({ peer, samples, r, classes: same ? "same" : "DIFFER" });
        }
        const camscopeMs = median(camscopeSamples) / batch;
        const camscopeMinMs = Math.min(...camscopeSamples) / batch;
        for (const { peer, samples, r, classes } of results) {
          const row: Row = {
            method: spec.title,
            model: modelName,
            batch,
            peer,
            camscopeMs,
            peerMs: median(samples) / batch,
            camscopeMinMs,
            peerMinMs: Math.min(...samples) / batch,
            r,
            classes,
          };
          rows.push(row);
          console.log(
            `  ${row.method}, ${modelName}, batch ${batch}: camscope ${camscopeMs.toFixed(1)} ms, ` +
              `${peer} ${row.peerMs.toFixed(1)} ms, ratio ${(row.peerMs / camscopeMs).toFixed(2)} ` +
              `(fastest runs ${(row.peerMinMs / camscopeMinMs).toFixed(2)}), r ${r}`,
          );
        }
      }
    }
  }
} finally {
  python.close();
  await engine?.dispose();
  for (const f of readdirSync(dir)) if (f.endsWith(".npy")) rmSync(join(dir, f));
}

const ms = (v: number) =>
  v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v < 10 ? 1 : 0);
console.log("\n## Every peer (ms per image: median of the alternating runs, and fastest run)\n");
console.log(
  formatTable({
    columns: [
      "method",
      "model, batch",
      "camscope",
      "peer",
      "peer ms",
      "peer / camscope",
      "fastest: camscope",
      "peer",
      "ratio",
      "map r",
      "classes",
    ],
    rows: rows.map((r) => [
      r.method,
      `${r.model}, ${r.batch}`,
      ms(r.camscopeMs),
      r.peer,
      ms(r.peerMs),
      (r.peerMs / r.camscopeMs).toFixed(2),
      ms(r.camscopeMinMs),
      ms(r.peerMinMs),
      (r.peerMinMs / r.camscopeMinMs).toFixed(2),
      r.r,
      r.classes,
    ]),
    numeric: [2, 4, 5, 6, 7, 8, 9],
  }),
);
console.log("\n## Against the fastest peer\n");
const fastest = new Map<string, Row>();
for (const r of rows) {
  const key = `${r.method}\n${r.model}\n${r.batch}`;
  const best = fastest.get(key);
  if (!best || r.peerMs < best.peerMs) fastest.set(key, r);
}
console.log(
  formatTable({
    columns: [
      "method",
      "model, batch",
      "camscope",
      "fastest peer",
      "ratio (peer / camscope)",
      "ratio of fastest runs",
    ],
    rows: [...fastest.values()].map((r) => [
      r.method,
      `${r.model}, ${r.batch}`,
      ms(r.camscopeMs),
      `${r.peer} ${ms(r.peerMs)}`,
      (r.peerMs / r.camscopeMs).toFixed(2),
      (r.peerMinMs / r.camscopeMinMs).toFixed(2),
    ]),
    numeric: [2, 4, 5],
  }),
);
if (skipped.length > 0) console.log(`\nSkipped:\n${skipped.map((s) => `  ${s}`).join("\n")}`);
console.log(`\nPython's log: ${logPath}`);
