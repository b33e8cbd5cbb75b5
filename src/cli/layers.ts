// `camscope layers`: every spatial activation a CAM can target, with the default marked.
import type { Command } from "commander";
import type { IntakeReport } from "../models/intake/index.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import { DEFAULT_BATCH_MEMORY_MIB, type BatchPlan } from "../runtime/batch-size.ts";
import type { Io } from "./io.ts";
import { addModelOptions, openFromOptions, type ModelOptions } from "./options.ts";

export interface LayersOptions extends ModelOptions {
  json: boolean;
}

export interface LayerListing {
  model: string;
  /** What model intake found in the file and changed (opset, precision, layout, head, batch). */
  intake: IntakeReport;
  input: { name: string; dims: number[] };
  defaultLayer: string;
  layers: (LayerInfo & { default: boolean })[];
  /** The default inputs per run of `explain` (no --batch-size, default --memory-budget). */
  batch: BatchPlan;
}

export function registerLayers(program: Command, io: Io): void {
  addModelOptions(
    program.command("layers").description("list the spatial layers a CAM can explain"),
  )
    .option("--json", "print JSON instead of a table", false)
    .action(async (options: LayersOptions) => {
      const listing = await listModelLayers(options);
      io.out.write(options.json ? `${JSON.stringify(listing, null, 2)}\n` : formatLayers(listing));
    });
}

export async function listModelLayers(options: ModelOptions): Promise<LayerListing> {
  const { engine, ctx } = await openFromOptions(options);
  try {
    const [layers, chosen, batch] = await Promise.all([
      ctx.layers(),
      ctx.defaultLayer(),
      ctx.batchPlan(),
    ]);
    return {
      model: ctx.model.source,
      intake: ctx.intake,
      input: ctx.input,
      defaultLayer: chosen.name,
      layers: layers.map((l) => ({ ...l, default: l.name === chosen.name })),
      batch,
    };
  } finally {
    await engine.dispose();
  }
}

/** One line on the model as exported, e.g. "opset 7 -> 13, float16 (run in float32), NHWC". */
export function describeIntake(r: IntakeReport): string {
  const parts = [
    r.opset.exported === r.opset.running
      ? `opset ${r.opset.running}`
      : `opset ${r.opset.exported} (run as ${r.opset.running})`,
    r.precision === "float16" ? "float16 weights (run in float32)" : "float32",
    `${r.layout} input${r.layout === "NHWC" ? " (fed NCHW through a Transpose)" : ""}`,
    r.head === "logits"
      ? `logits output [N, ${r.classes}]`
      : `${r.head} output (explained: its input logits, [N, ${r.classes}])`,
    r.batch.kind === "dynamic"
      ? "any batch"
      : r.batch.kind === "symbolic"
        ? `batch fixed at ${r.batch.exported} (made symbolic)`
        : `batch fixed at ${r.batch.exported} (run in chunks: ${r.batch.why})`,
  ];
  return parts.join(", ");
}

export function formatLayers(listing: LayerListing): string {
  const rows = listing.layers.map((l) => [
    l.default ? "*" : "",
    l.name,
    l.op,
    l.layout === "tokens" ? `tokens (+${l.prefixTokens ?? 0})` : l.layout,
    l.dims.join("x"),
  ]);
  const header = ["", "layer", "op", "layout", "shape (N x C x h x w)"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const format = (r: string[]): string =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd();
  return [
    `${listing.model}: input ${listing.input.name} ${listing.input.dims.join("x")}, ${rows.length} spatial layers`,
    `  ${describeIntake(listing.intake)}`,
    format(header),
    ...rows.map(format),
    `* default layer (--layer auto): ${listing.defaultLayer}`,
    `default --batch-size of explain: ${listing.batch.size} inputs per run, est. ${mib(listing.batch.memoryMiB)} MiB (--memory-budget ${DEFAULT_BATCH_MEMORY_MIB})`,
    "",
  ].join("\n");
}

/** MiB to about two digits (small models' runs take fractions of a MiB). */
function mib(value: number): string {
  return value >= 10 ? value.toFixed(0) : value >= 0.1 ? value.toFixed(1) : value.toPrecision(1);
}
