// The method options of `camscope explain` as command-line flags, built from the options every
// method declares (src/methods/registry.ts): one flag per declared option (options several methods
// share, like SmoothGrad's, are one flag), its default, range and help from the declaration, and
// the parsed values handed back per method.
import { InvalidArgumentError, Option, type Command } from "commander";
import { CamscopeError } from "../errors.ts";
import { readNpy } from "../io/npy.ts";
import { METHODS } from "../methods/registry.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { describeOption, optionFlag, type ChoiceSpec, type OptionSpec } from "../util/options.ts";

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

/** A number parser that refuses what is not one (ranges are checked with the method's options). */
function numberParser(spec: OptionSpec): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    const integer = spec.kind === "integer";
    if (value.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
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
    const option = new Option(`--${flag} <value>`, spec.help).default(spec.default);
    if (spec.kind === "choice" && !spec.tensor) option.choices(spec.choices);
    if (spec.kind === "integer" || spec.kind === "number") option.argParser(numberParser(spec));
    command.addOption(option);
  }
  return command;
}

/**
 * The method options the flags in `values` (commander's parsed options) give, by method name. A
 * choice that also takes a tensor (--baseline) takes a float32 .npy file's path.
 */
export async function methodFlagValues(
  values: Readonly<Record<string, unknown>>,
): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { spec, methods } of declaredOptions()) {
    const flag = optionFlag(spec);
    let value = values[flagKey(flag)];
    if (value === undefined) continue;
    if (spec.kind === "choice" && spec.tensor) {
      value = await choiceOrTensor(spec, flag, value as string);
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
): Promise<string | FloatTensor> {
  if (spec.choices.includes(value)) return value;
  if (!value.endsWith(".npy")) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--${flag} "${value}" is neither ${spec.choices.join(", ")} nor a .npy file`,
    );
  }
  try {
    return await readNpy(value);
  } catch (error) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot read the --${flag} tensor "${value}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}
