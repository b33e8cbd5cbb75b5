// The command-line program: commander wiring and the rule that user mistakes print one
// `error: <message>` line and exit 1, while anything else (a bug) keeps its stack trace.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CamscopeError } from "../errors.ts";
import { registerActivation } from "./activation.ts";
import { registerCompare } from "./compare.ts";
import { registerEvaluate } from "./evaluate.ts";
import { registerExplain } from "./explain.ts";
import type { Io } from "./io.ts";
import { registerLayers } from "./layers.ts";
import { registerPredict } from "./predict.ts";
import { registerServe } from "./serve.ts";

// package.json is two levels up from both src/cli/ and dist/cli/.
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

export function buildProgram(io: Io): Command {
  const program = new Command("camscope")
    .description("Explain what a CNN image classifier exported to ONNX looked at")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });
  registerPredict(program, io);
  registerLayers(program, io);
  registerActivation(program, io);
  registerExplain(program, io);
  registerEvaluate(program, io);
  registerCompare(program, io);
  registerServe(program, io);
  // Subcommands inherit the output and exit settings only when set before they are added.
  for (const command of program.commands)
    command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI on `args` (without the node and script paths) and returns the exit code. */
export async function runCli(args: readonly string[], io: Io): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...args], { from: "user" });
    return 0;
  } catch (error) {
    // Commander has already printed its own message (usage errors, --help, --version).
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CamscopeError) {
      io.err.write(`error: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
