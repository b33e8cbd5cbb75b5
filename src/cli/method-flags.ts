// The method options of `camscope explain` as command-line flags, built from the options every
// method declares (src/methods/registry.ts): one flag per declared option (options several methods
// share, like SmoothGrad's, are one flag), its default, range and help from the declaration, and
// the parsed values handed back per method.
import { InvalidArgumentError, Option, type Command } from "commander";
import { coverageProblem } from "../attribution/methods/occlusion.ts";
import { CamscopeError } from "../errors.ts";
import { readNpy } from "../io/npy.ts";
import { METHODS, type MethodChoice } from "../methods/registry.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import {
  checkOptionValue,
  describeOption,
  optionFlag,
  optionPlaceholder,
  type ChoiceSpec,
  type OptionSpec,
} from "../util/options.ts";

/** Every declared option, once each, with the methods that declare it. */
function declaredOptions(): { spec: OptionSpec; methods: string[] }[] {
  const out: { spec: OptionSpec; methods: string[] }[] = [];
  for (const method of METHODS) {
    for (const spec of method.options) {
      const seen = out.find((o) => o.spec === spec);
      if (seen) seen.methods.push(method.name);
      else out.push({ spec, methods: [method.name] });
    }
  }
  return out;
}

/** commander's key of a flag: "keep-probability" -> "keepProbability". */
function flagKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A number parser that refuses what is not one, or is out of the option's range, with the range
 * in the message (commander prints it as one line naming the flag).
 */
function numberParser(spec: OptionSpec): (value: string) => number {
  return (value: string) => {
    // Number("") and Number("  ") are 0: an empty value is not a number.
    const n = value.trim() === "" ? NaN : Number(value);
    try {
      checkOptionValue(spec, spec.name, n);
    } catch {
      throw new InvalidArgumentError(`must be ${describeOption(spec)}`);
    }
    return n;
  };
}

/** Adds a flag for every declared method option to a command. */
export function addMethodFlags(command: Command): Command {
  for (const { spec } of declaredOptions()) {
    const flag = optionFlag(spec);
    if (spec.kind === "boolean") {
      command.option(`--${flag}`, spec.help, spec.default);
      continue;
    }
    const option = new Option(`--${flag} <${optionPlaceholder(spec)}>`, spec.help).default(
      spec.default,
    );
    if (spec.kind === "choice" && !spec.tensor) option.choices(spec.choices);
    if (spec.kind === "integer" || spec.kind === "number") option.argParser(numberParser(spec));
    command.addOption(option);
  }
  return command;
}

/**
 * The method options the flags in `values` (commander's parsed options) give, by method name. A
 * choice that also takes a tensor (--baseline) takes a float32 .npy file's path: a tensor in the
 * model input's space ([C, H, W] of `inputDims` [1, C, H, W] when given), every value finite.
 */
export async function methodFlagValues(
  values: Readonly<Record<string, unknown>>,
  inputDims?: readonly number[],
): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { spec, methods } of declaredOptions()) {
    const flag = optionFlag(spec);
    let value = values[flagKey(flag)];
    if (value === undefined) continue;
    if (spec.kind === "choice" && spec.tensor) {
      value = await choiceOrTensor(spec, flag, value as string, inputDims);
    }
    for (const name of methods) (out[name] ??= {})[spec.name] = value;
  }
  return out;
}

/** A named choice, or a float32 .npy tensor in the model input's space. */
async function choiceOrTensor(
  spec: ChoiceSpec,
  flag: string,
  value: string,
  inputDims: readonly number[] | undefined,
): Promise<string | FloatTensor> {
  if (spec.choices.includes(value)) return value;
  if (!value.endsWith(".npy")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--${flag} "${value}" is neither ${spec.choices.join(", ")} nor a .npy file`,
    );
  }
  const tensor = await readNpy(value, `the --${flag} tensor`);
  const want = inputDims?.slice(1);
  if (want && tensor.dims.join("x") !== want.join("x")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--${flag} "${value}" is [${tensor.dims.join(", ")}], but the model input is [${want.join(", ")}] (C, H, W)`,
    );
  }
  if (!tensor.data.every(Number.isFinite)) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--${flag} "${value}" holds NaN or Inf values; every value must be finite`,
    );
  }
  return tensor;
}

/**
 * The options that must fit the model's input [1, C, H, W], checked before any image is read:
 * occlusion windows that cover every pixel, RISE cells of at least a pixel. The methods check
 * the same when they run; here the message names the flags.
 */
export function checkAgainstInput(
  choices: readonly MethodChoice[],
  inputDims: readonly number[],
): void {
  const [height, width] = inputDims.slice(-2) as [number, number];
  const pair = (v: unknown) => (typeof v === "number" ? [v, v] : (v as [number, number]));
  for (const { method, options } of choices) {
    if (method.name === "occlusion") {
      const [wh, ww] = pair(options.window);
      const [sh, sw] = pair(options.stride);
      for (const [side, window, stride] of [
        [height, wh!, sh!],
        [width, ww!, sw!],
      ] as const) {
        if (coverageProblem(side, window, stride)) {
          throw new CamscopeError(
            "INVALID_ARGUMENT",
            `--stride ${stride} is longer than --window ${window}: pixels between occlusion windows would be covered by none (the input is ${height}x${width}; give a --stride from 1 to ${window})`,
          );
        }
      }
    }
    const cells = options.cells as number;
    if (method.name === "rise" && cells > Math.min(height, width)) {
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `--cells ${cells} is out of range: must be an integer from 1 to ${Math.min(height, width)} (a cell is at least a pixel of the ${height}x${width} input)`,
      );
    }
  }
}
