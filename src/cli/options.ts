// Options shared by the commands: the model, its preprocessing override and the engine settings.
import { Option, InvalidArgumentError, type Command } from "commander";
import { Engine } from "../engine/engine.ts";
import { PREPROCESS_PRESETS, type PresetName } from "../image/preprocess.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { BUNDLED_MODELS, openModel } from "../io/models.ts";

export interface ModelOptions {
  model: string;
  preset?: PresetName;
  output?: string;
  card?: string;
  layout?: "NCHW" | "NHWC";
  colorManagement?: boolean;
  threads?: number;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError("must be a non-negative integer");
  }
  return n;
}

export function finiteNumber(value: string): number {
  const a = Number(value);
  if (value.trim() === "" || !Number.isFinite(a))
    throw new InvalidArgumentError("must be a number");
  return a;
}

export function unitInterval(value: string): number {
  const a = Number(value);
  if (!(a >= 0 && a <= 1)) throw new InvalidArgumentError("must be a number from 0 to 1");
  return a;
}

export function clipPercentile(value: string): number {
  const a = Number(value);
  if (value.trim() === "" || !(a > 0 && a <= 100)) {
    throw new InvalidArgumentError("must be a percentile above 0, at most 100");
  }
  return a;
}

/**
 * Adds --model, --preset, --output, --card, --layout, --color-management and --threads to a
 * command.
 */
export function addModelOptions(command: Command): Command {
  return command
    .requiredOption(
      "-m, --model <model>",
      `bundled model (${BUNDLED_MODELS.join(", ")}) or path to an .onnx file`,
    )
    .addOption(
      new Option("--preset <preset>", "preprocessing preset replacing the model card's").choices(
        Object.keys(PREPROCESS_PRESETS),
      ),
    )
    .option("--output <name>", "the class-score output of a model with several outputs")
    .option("--card <path>", "the model card (default: <model>.json beside the model, if any)")
    .addOption(
      new Option(
        "--layout <layout>",
        "the image input's layout, if the graph leaves it unclear",
      ).choices(["NCHW", "NHWC"]),
    )
    .option(
      "--color-management",
      "convert images with embedded ICC profiles to sRGB (default: ignore profiles, as PIL and torchvision do)",
    )
    .option("--threads <n>", "ONNX Runtime intra-op threads (default: all cores)", positiveInt);
}

/** An engine and the model opened on it; the caller disposes the engine. */
export async function openFromOptions(
  options: ModelOptions,
): Promise<{ engine: Engine; ctx: ModelRuntime }> {
  const engine = new Engine(options.threads !== undefined ? { threads: options.threads } : {});
  try {
    const ctx = await openModel(options.model, engine, {
      ...(options.preset ? { preprocessing: options.preset } : {}),
      ...(options.output ? { output: options.output } : {}),
      ...(options.card ? { card: options.card } : {}),
      ...(options.layout ? { layout: options.layout } : {}),
      ...(options.colorManagement ? { colorManagement: true } : {}),
    });
    return { engine, ctx };
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}
