// Options shared by the commands: the model, its preprocessing override and the engine settings.
import { Option, type Command } from "commander";
import { Engine } from "../engine/engine.ts";
import { PREPROCESS_PRESETS, type PresetName } from "../image/preprocess.ts";
import { type ModelRuntime } from "../runtime/runtime.ts";
import { BUNDLED_MODELS, openModel } from "../io/models.ts";
import { checkThreads, intOption, LIMITS, numberOption } from "./validate.ts";

export interface ModelOptions {
  model: string;
  preset?: PresetName;
  output?: string;
  card?: string;
  layout?: "NCHW" | "NHWC";
  colorManagement?: boolean;
  threads?: number;
  forceThreads?: boolean;
}

// The numeric option parsers live in ./validate.ts (ranges in their messages).
export { finiteNumber, nonNegativeInt, positiveInt, unitInterval } from "./validate.ts";

/** --clip: a percentile above 0, at most 100. */
export const clipPercentile = numberOption(0, 100, { minExclusive: true });

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
    .option(
      "--threads <n>",
      "ONNX Runtime intra-op threads, up to the machine's cores (default: all cores)",
      intOption(1, LIMITS.threads),
    )
    .option("--force-threads", "allow --threads above the machine's cores");
}

/** An engine and the model opened on it; the caller disposes the engine. */
export async function openFromOptions(
  options: ModelOptions,
): Promise<{ engine: Engine; ctx: ModelRuntime }> {
  checkThreads(options.threads, options.forceThreads);
  const engine = new Engine(
    options.threads !== undefined
      ? { threads: options.threads, forceThreads: options.forceThreads ?? false }
      : {},
  );
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
