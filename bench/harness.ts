// What bench sections share: the section contract, the models they run on, timing with warm-up
// excluded, and plain-text tables.
import { generateSplit } from "../src/data/synthetic/generator.ts";
import { Engine, Tensor } from "../src/engine/engine.ts";
import { preprocess } from "../src/image/preprocess.ts";
import { type ModelRuntime } from "../src/runtime/runtime.ts";
import type { FloatTensor } from "../src/tensor/tensor.ts";
import { openModel } from "../src/io/models.ts";

export interface BenchOptions {
  /** Bundled model names or .onnx paths. */
  models: string[];
  /** Whether `models` was given (--model); else sections may add the full-size exports. */
  modelsGiven?: boolean;
  /** ONNX Runtime intra-op threads; undefined means all cores. */
  threads: number | undefined;
  /** Timed repetitions per measurement (the median is reported). */
  repetitions: number;
  /** Untimed runs before the timed ones (session warm-up, allocator growth, caches). */
  warmup: number;
  /** Let ONNX Runtime's threads spin between parallel sections (EngineOptions.spinning). */
  spinning?: boolean;
}

/** Per-run state handed to every section: options and models opened once on one engine. */
export class BenchContext {
  readonly options: BenchOptions;
  readonly engine: Engine;
  private readonly opened = new Map<string, Promise<ModelRuntime>>();

  constructor(options: BenchOptions) {
    this.options = options;
    this.engine = new Engine({
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.spinning ? { spinning: true } : {}),
    });
  }

  model(nameOrPath: string): Promise<ModelRuntime> {
    let ctx = this.opened.get(nameOrPath);
    if (!ctx) {
      ctx = openModel(nameOrPath, this.engine);
      this.opened.set(nameOrPath, ctx);
    }
    return ctx;
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}

/** A part of the benchmark (forward passes, backward passes, one explanation method, ...). */
export interface BenchSection {
  name: string;
  title: string;
  run(context: BenchContext): Promise<Table>;
}

export interface Timing {
  /** Median of the timed repetitions, in milliseconds. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /**
   * Median CPU time of the process per repetition (all threads), in milliseconds: on a machine
   * shared with other busy processes the steadier measure of the work done.
   */
  cpuMs: number;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `warmup` times untimed, then `repetitions` times timed. */
export async function time(fn: () => Promise<unknown>, options: BenchOptions): Promise<Timing> {
  for (let i = 0; i < options.warmup; i++) await fn();
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < options.repetitions; i++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  return {
    medianMs: median(samples),
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    cpuMs: median(cpu),
  };
}

export interface Table {
  columns: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  numeric?: number[];
}

export function formatTable({ columns, rows, numeric = [] }: Table): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (numeric.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

// Time one measurement may take after its warm-up and first timed run (timeWithin).
const BUDGET_MS = 1000;

/** The first `n` images of a fixed synthetic split, preprocessed for `ctx`. */
export function benchImages(ctx: ModelRuntime, n: number): FloatTensor {
  const samples = [...generateSplit({ seed: 11, split: "bench", count: n, twoObjectShare: 0 })];
  const { tensor, dims } = preprocess(
    samples.map((s) => ({ width: s.width, height: s.height, data: s.rgb })),
    ctx.card.preprocessing,
  );
  return { data: tensor, dims };
}

/**
 * A timing of `fn` whose repetitions fit BUDGET_MS (at least one, at most options.repetitions).
 * One untimed run comes first: the first run at a new batch size also opens sessions, compiles
 * graphs and grows ONNX Runtime's memory arena, and a slow measurement reports its next run alone.
 */
export async function timeWithin(
  fn: () => Promise<unknown>,
  options: BenchOptions,
): Promise<Timing & { reps: number }> {
  await fn();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await fn();
  const first = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  if (first >= BUDGET_MS / 2) {
    const cpuMs = (used.user + used.system) / 1000;
    return { medianMs: first, minMs: first, maxMs: first, cpuMs, reps: 1 };
  }
  const reps = Math.max(1, Math.min(options.repetitions, Math.floor(BUDGET_MS / first)));
  const warmup = Math.min(Math.max(0, options.warmup - 1), Math.floor(reps / 2));
  return { ...(await time(fn, { ...options, repetitions: reps, warmup })), reps };
}

/** One plain forward pass of `input`: milliseconds per image (the unit method costs are given in). */
export async function forwardMsPerImage(
  ctx: ModelRuntime,
  input: FloatTensor,
  options: BenchOptions,
): Promise<{ ms: number; reps: number }> {
  const session = await ctx.session();
  const feeds = { [ctx.input.name]: new Tensor("float32", input.data, input.dims) };
  const t = await timeWithin(() => session.run(feeds, [ctx.output]), options);
  return { ms: t.medianMs / input.dims[0]!, reps: t.reps };
}
