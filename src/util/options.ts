// Method options declared once: each option of a method is a spec with its type, default,
// range or choices and a help line. The method validates what it is given with it, the CLI builds
// its flags from it, and an evaluation run records the resolved values in its configuration.
import { CamscopeError } from "../errors.ts";
import {
  checkChoice,
  checkFiniteValues,
  checkFloatTensor,
  checkInteger,
  checkNumber,
  describe,
} from "./validate.ts";

interface SpecBase {
  /** The field of the method's options object, e.g. "steps". */
  readonly name: string;
  /** The command-line flag without dashes (default: `name` in kebab case), e.g. "iscam-steps". */
  readonly flag?: string;
  /** One line for --help. */
  readonly help: string;
  /** The flag's value in --help (default by kind: n, x, name, s), e.g. "--steps <n>". */
  readonly placeholder?: string;
}

/**
 * An integer option; `pair` also accepts [a, b] (e.g. an occlusion window's height and width).
 * `max` bounds work sizes (steps, samples, masks: see WORK_LIMITS), beyond which a run takes
 * hours per image, which is a typo more often than an experiment.
 */
export interface IntegerSpec extends SpecBase {
  /** The kind of value. */
  readonly kind: "integer";
  /** The value when none is given. */
  readonly default: number;
  /** The smallest value allowed. */
  readonly min?: number;
  /** The largest value allowed. */
  readonly max?: number;
  /** Whether [a, b] is accepted as well as one integer. */
  readonly pair?: boolean;
}

/** A finite number option, optionally bounded; `above` excludes the lower bound. */
export interface NumberSpec extends SpecBase {
  /** The kind of value. */
  readonly kind: "number";
  /** The value when none is given. */
  readonly default: number;
  /** The smallest value allowed. */
  readonly min?: number;
  /** A lower bound the value must exceed. */
  readonly above?: number;
  /** The largest value allowed. */
  readonly max?: number;
}

/** One of a list of names; `tensor` also accepts a float tensor (an IG baseline). */
export interface ChoiceSpec extends SpecBase {
  /** The kind of value. */
  readonly kind: "choice";
  /** The value when none is given. */
  readonly default: string;
  /** The names accepted. */
  readonly choices: readonly string[];
  /** Whether a float tensor is accepted as well as a name. */
  readonly tensor?: boolean;
}

/** A free-form string, checked by `check` (which throws a CamscopeError naming the problem). */
export interface StringSpec extends SpecBase {
  /** The kind of value. */
  readonly kind: "string";
  /** The value when none is given. */
  readonly default: string;
  /** Throws a CamscopeError naming the problem when the value is not acceptable. */
  readonly check?: (value: string) => void;
}

/** An on/off option. */
export interface BooleanSpec extends SpecBase {
  /** The kind of value. */
  readonly kind: "boolean";
  /** The value when none is given. */
  readonly default: boolean;
}

/** A declared method option. */
export type OptionSpec = IntegerSpec | NumberSpec | ChoiceSpec | StringSpec | BooleanSpec;

/** The command-line flag of an option, without dashes. */
export function optionFlag(spec: OptionSpec): string {
  return spec.flag ?? spec.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The value placeholder of an option's flag in --help. */
export function optionPlaceholder(spec: OptionSpec): string {
  const byKind = { integer: "n", number: "x", choice: "name", string: "s", boolean: "" };
  return spec.placeholder ?? byKind[spec.kind];
}

// Bounds as util/validate.ts checks them: an unbounded side is the largest safe integer or the
// largest finite number.
const integerRange = (spec: IntegerSpec) => ({
  min: spec.min ?? Number.MIN_SAFE_INTEGER,
  ...(spec.max !== undefined ? { max: spec.max } : {}),
});
const numberRange = (spec: NumberSpec) => ({
  min: spec.above ?? spec.min ?? -Number.MAX_VALUE,
  max: spec.max ?? Number.MAX_VALUE,
  minExclusive: spec.above !== undefined,
});

/**
 * The range or choices of an option in words, for help and errors, in util/validate.ts's
 * wording: "an integer from 1 to 100000", "a number above 0 and at most 1", "one of: a, b".
 */
export function describeOption(spec: OptionSpec): string {
  switch (spec.kind) {
    case "integer": {
      const { min, max } = integerRange(spec);
      const what =
        max === undefined ? `an integer, at least ${min}` : `an integer from ${min} to ${max}`;
      return spec.pair ? `${what} (or a pair of them)` : what;
    }
    case "number": {
      const { min, max, minExclusive } = numberRange(spec);
      return minExclusive
        ? `a number above ${min} and at most ${max}`
        : `a number from ${min} to ${max}`;
    }
    case "choice":
      return `one of: ${spec.choices.join(", ")}${spec.tensor ? ", or a tensor" : ""}`;
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
  }
}

function isTensor(value: unknown): boolean {
  const t = value as { data?: unknown; dims?: unknown } | null;
  return typeof t === "object" && t !== null && "data" in t && "dims" in t;
}

function invalid(name: string, spec: OptionSpec, value: unknown): CamscopeError {
  return new CamscopeError(
    "INVALID_ARGUMENT",
    `${name} must be ${describeOption(spec)}, got ${describe(value)}`,
  );
}

/** `value` checked against the spec (a CamscopeError naming `name`, the range and the value). */
export function checkOptionValue(spec: OptionSpec, name: string, value: unknown): void {
  switch (spec.kind) {
    case "integer":
      if (spec.pair === true && Array.isArray(value)) {
        if (value.length !== 2) throw invalid(name, spec, value);
        value.forEach((v, i) => checkInteger(v, `${name}[${i}]`, integerRange(spec)));
        return;
      }
      checkInteger(value, name, integerRange(spec));
      return;
    case "number":
      checkNumber(value, name, numberRange(spec));
      return;
    case "choice":
      if (spec.tensor === true && isTensor(value)) {
        const t = checkFloatTensor(value, `${name} tensor`);
        checkFiniteValues(t.data, `${name} tensor`);
        return;
      }
      if (spec.tensor === true && typeof value !== "string") throw invalid(name, spec, value);
      checkChoice(value, name, spec.choices);
      return;
    case "string":
      if (typeof value !== "string") throw invalid(name, spec, value);
      spec.check?.(value);
      return;
    case "boolean":
      if (typeof value !== "boolean") throw invalid(name, spec, value);
      return;
  }
}

/**
 * The options of a method with every declared default filled in, each given value checked
 * against its spec (a CamscopeError "<what> <name> must be <range>, got <value>" otherwise).
 * Fields that no spec declares are refused, so that a misspelt option never goes unnoticed.
 */
export function resolveOptions<T extends Record<string, unknown>>(
  what: string,
  specs: readonly OptionSpec[],
  given: Readonly<Record<string, unknown>> = {},
): T {
  if (given === null || typeof given !== "object") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `${what} options must be an object, got ${describe(given)}`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !specs.some((s) => s.name === key)) {
      const known = specs.map((s) => s.name);
      throw new CamscopeError(
        "INVALID_ARGUMENT",
        `${what} has no option "${key}"${known.length > 0 ? ` (options: ${known.join(", ")})` : ""}`,
      );
    }
  }
  for (const spec of specs) {
    const value = given[spec.name] ?? spec.default;
    checkOptionValue(spec, `${what} ${spec.name}`.trim(), value);
    out[spec.name] = value;
  }
  return out as T;
}
