// `camscope layers`: every spatial activation a CAM can target, with the default marked.
import type { Command } from "commander";
import type { LayerInfo } from "../onnx/layers.ts";
import type { Io } from "./io.ts";
import { addModelOptions, openFromOptions, type ModelOptions } from "./options.ts";

export interface LayersOptions extends ModelOptions {
  json: boolean;
}

export interface LayerListing {
  model: string;
  input: { name: string; dims: number[] };
  defaultLayer: string;
  layers: (LayerInfo & { default: boolean })[];
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
    const [layers, chosen] = await Promise.all([ctx.layers(), ctx.defaultLayer()]);
    return {
      model: ctx.model.source,
      input: ctx.input,
      defaultLayer: chosen.name,
      layers: layers.map((l) => ({ ...l, default: l.name === chosen.name })),
    };
  } finally {
    await engine.dispose();
  }
}

export function formatLayers(listing: LayerListing): string {
  const rows = listing.layers.map((l) => [l.default ? "*" : "", l.name, l.op, l.dims.join("x")]);
  const header = ["", "layer", "op", "shape"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const format = (r: string[]): string =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd();
  return [
    `${listing.model}: input ${listing.input.name} ${listing.input.dims.join("x")}, ${rows.length} spatial layers`,
    format(header),
    ...rows.map(format),
    `* default layer (--layer auto): ${listing.defaultLayer}`,
    "",
  ].join("\n");
}
