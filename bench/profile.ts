// Per-op profile of a compiled backward graph: where ONNX Runtime spends the time of forward +
// backward to the input (or a layer), by op type and by node, from its own profiler.
//
//   node --import tsx bench/profile.ts --model bench/.models/resnet50.onnx [--wrt input|layer|<value>]
//     [--batch 1] [--threads 2] [--runs 10] [--top 15] [--rules gradient|guided] [--keep]
//     [--opt all|extended|basic|disabled] [--no-spin]
//
// Nodes the compiler appended (names under "camscope/") are the backward; the rest is the forward.
// ONNX Runtime renames nodes it fuses, so a fused node is counted where its first name points.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { oneHotSeed } from "../src/runtime/backward.ts";
import { compileBackward } from "../src/compiler/compile.ts";
import { guidedBackprop } from "../src/compiler/rules/guided.ts";
import { exactGradient } from "../src/compiler/rules/index.ts";
import { Engine } from "../src/engine/engine.ts";
import { openModel } from "../src/io/models.ts";
import { sizeOf } from "../src/tensor/tensor.ts";
import { createRng } from "../src/util/random.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "synth-resnet" },
    wrt: { type: "string", default: "input" },
    batch: { type: "string", default: "1" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "10" },
    top: { type: "string", default: "15" },
    rules: { type: "string", default: "gradient" },
    keep: { type: "boolean", default: false },
    opt: { type: "string", default: "all" },
    "no-spin": { type: "boolean", default: false },
  },
});
const batch = Number(values.batch);
const threads = Number(values.threads);
const runs = Number(values.runs);

const engine = new Engine({ threads });
const ctx = await openModel(values.model!, engine);
const shapes = await ctx.shapes();
const wrt =
  values.wrt === "input"
    ? ctx.input.name
    : values.wrt === "layer"
      ? (await ctx.defaultLayer()).name
      : values.wrt!;
const ruleSet = values.rules === "guided" ? guidedBackprop : exactGradient;
const compiled = compileBackward(ctx.model, shapes, { wrt: [wrt], output: ctx.output, ruleSet });
const classes = sizeOf(shapes.get(ctx.output)!.slice(1));
const dims = [batch, ...ctx.input.dims.slice(1)];
const rng = createRng(1);
const input = new ort.Tensor(
  "float32",
  Float32Array.from({ length: sizeOf(dims) }, () => rng.normal()),
  dims,
);
const seed = new ort.Tensor(
  "float32",
  oneHotSeed(
    Array.from({ length: batch }, (_, i) => (7 * i) % classes),
    classes,
  ),
  [batch, classes],
);

interface Event {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
  /** Index of the timed run the event belongs to. */
  run?: number;
}

const dir = mkdtempSync(join(tmpdir(), "camscope-profile-"));
async function profile(
  label: string,
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  outputs: string[],
): Promise<{ ms: number; events: Event[] }> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: values.opt as "all" | "extended" | "basic" | "disabled",
    ...(values["no-spin"] ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}),
    logSeverityLevel: 3,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  };
  // Wall time first, unprofiled (the profiler adds its own cost per node).
  const plain = await ort.InferenceSession.create(bytes, options);
  for (let i = 0; i < 2; i++) await plain.run(feeds, outputs);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await plain.run(feeds, outputs);
    times.push(performance.now() - start);
  }
  await plain.release();
  const profiled = await ort.InferenceSession.create(bytes, {
    ...options,
    enableProfiling: true,
    profileFilePrefix: join(dir, label),
  });
  for (let i = 0; i < 2 + runs; i++) await profiled.run(feeds, outputs);
  profiled.endProfiling();
  await profiled.release();
  const file = readdirSync(dir).find((f) => f.startsWith(label) && f.endsWith(".json"))!;
  const all = JSON.parse(readFileSync(join(dir, file), "utf8")) as Event[];
  // Node events precede their run's "model_run" event; the warm-up runs are dropped.
  const events: Event[] = [];
  let run = 0;
  for (const e of all) {
    if (e.cat === "Session" && e.name === "model_run") run++;
    else if (run >= 2 && e.cat === "Node" && e.name.endsWith("_kernel_time"))
      events.push({ ...e, run: run - 2 });
  }
  times.sort((a, b) => a - b);
  return { ms: times[times.length >> 1]!, events };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * Kernel time per op type and node: each node's median over the timed runs, and its minimum (on
 * a shared machine the minimum is the steadier estimate of what the kernel costs undisturbed).
 */
function summarise(events: Event[], top: number): void {
  const nodes = new Map<string, { op: string; us: number[] }>();
  for (const e of events) {
    const name = e.name.slice(0, -"_kernel_time".length);
    const entry = nodes.get(name) ?? { op: e.args?.op_name ?? "?", us: [] };
    entry.us.push(e.dur);
    nodes.set(name, entry);
  }
  const byOp = new Map<string, { med: number; min: number; n: number }>();
  let medTotal = 0;
  let minTotal = 0;
  let fwdMin = 0;
  for (const [name, { op, us }] of nodes) {
    const key = `${name.startsWith("camscope/") ? "bwd" : "fwd"} ${op}`;
    const s = byOp.get(key) ?? { med: 0, min: 0, n: 0 };
    const med = median(us);
    const min = Math.min(...us);
    s.med += med;
    s.min += min;
    s.n++;
    byOp.set(key, s);
    medTotal += med;
    minTotal += min;
    if (key.startsWith("fwd")) fwdMin += min;
  }
  const ms = (us: number) => (us / 1000).toFixed(2).padStart(8);
  console.log(
    `  kernel time per run, sum of node medians ${ms(medTotal)} ms, of node minimums ${ms(minTotal)} ms (forward nodes ${ms(fwdMin)}, backward nodes ${ms(minTotal - fwdMin)})`,
  );
  console.log("  by op type (median ms, min ms, share of min, nodes):");
  for (const [k, s] of [...byOp].sort((a, b) => b[1].min - a[1].min).slice(0, top)) {
    console.log(
      `    ${k.padEnd(30)} ${ms(s.med)} ${ms(s.min)} ${((100 * s.min) / minTotal).toFixed(1).padStart(5)}%  x${s.n}`,
    );
  }
  console.log("  slowest nodes (median ms, min ms):");
  const slowest = [...nodes].sort((a, b) => Math.min(...b[1].us) - Math.min(...a[1].us));
  for (const [name, { op, us }] of slowest.slice(0, top)) {
    console.log(`    ${ms(median(us))} ${ms(Math.min(...us))}  ${op.padEnd(16)} ${name}`);
  }
}

const top = Number(values.top);
console.log(
  `${ctx.card.name}: backward to ${wrt} (${ruleSet.name}), batch ${batch}, ${threads} threads, ${runs} runs`,
);
const fwd = await profile("forward", ctx.model.toBytes(), { [ctx.input.name]: input }, [
  ctx.output,
]);
console.log(`forward: ${fwd.ms.toFixed(1)} ms (median wall)`);
summarise(fwd.events, Math.min(top, 8));
const outputs = [compiled.output, ...compiled.grads.values()];
const bwd = await profile(
  "backward",
  compiled.model.toBytes(),
  { [ctx.input.name]: input, [compiled.seed]: seed },
  outputs,
);
console.log(
  `forward + backward: ${bwd.ms.toFixed(1)} ms (median wall), ${(bwd.ms / fwd.ms).toFixed(2)}x forward`,
);
summarise(bwd.events, top);
if (values.keep) console.log(`profiles kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
await engine.dispose();
