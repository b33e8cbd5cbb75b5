// The command-line program: commander wiring and the rule that every error prints one
// `error: <message>` line (and at most one hint line) and exits 1. A CamscopeError is a user's
// mistake or a bad file; a raw file-system error that escaped is named by its path and cause; any
// other error is a bug in camscope, reported as such, its stack trace shown only with --debug.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CamscopeError } from "../errors.ts";
import { fsReason } from "../util/files.ts";
import { registerActivation } from "./activation.ts";
import { registerCompare } from "./compare.ts";
import { registerEvaluate } from "./evaluate.ts";
import { registerExplain } from "./explain.ts";
import type { Io } from "./io.ts";
import { registerLayers } from "./layers.ts";
import { registerMerge } from "./merge.ts";
import { registerPredict } from "./predict.ts";
import { registerServe } from "./serve.ts";
import { registerWorker } from "./worker.ts";

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
    .showHelpAfterError(USAGE_HINT)
    // Taken out of the arguments by runCli; declared so that --help lists it.
    .option(DEBUG_FLAG, "print the stack trace of an error")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });
  registerPredict(program, io);
  registerLayers(program, io);
  registerActivation(program, io);
  registerExplain(program, io);
  registerEvaluate(program, io);
  registerCompare(program, io);
  registerMerge(program, io);
  registerWorker(program, io);
  registerServe(program, io);
  // Subcommands inherit the output and exit settings only when set before they are added.
  for (const command of program.commands)
    command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

const USAGE_HINT = "(camscope <command> --help lists the options)";
/** Prints stack traces of errors; taken out of the arguments before commander sees them. */
export const DEBUG_FLAG = "--debug";

/** The one line (and hint) an error prints. */
export function errorLines(error: unknown): { message: string; hint?: string; bug: boolean } {
  if (error instanceof CamscopeError) {
    return { message: error.message, ...(error.hint ? { hint: error.hint } : {}), bug: false };
  }
  const e = error as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === "string" && /^E[A-Z]+$/.test(e.code) && typeof e.path === "string") {
    // A file-system error no layer mapped: its path and cause are still what the user needs.
    return { message: `Cannot ${e.syscall ?? "access"} "${e.path}": ${fsReason(e)}`, bug: false };
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    message: `internal error: ${text.split("\n")[0]}`,
    hint: `this is a bug in camscope; rerun with ${DEBUG_FLAG} for the stack trace`,
    bug: true,
  };
}

/** Writes an error as the CLI reports it. */
export function reportError(error: unknown, io: Io, debug: boolean): void {
  const { message, hint } = errorLines(error);
  io.err.write(`error: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  if (debug && error instanceof Error && error.stack) io.err.write(`${error.stack}\n`);
  else if (hint) io.err.write(`${hint}\n`);
}

/** Runs the CLI on `args` (without the node and script paths) and returns the exit code. */
export async function runCli(args: readonly string[], io: Io): Promise<number> {
  const debug = args.includes(DEBUG_FLAG);
  try {
    await buildProgram(io).parseAsync(
      args.filter((a) => a !== DEBUG_FLAG),
      { from: "user" },
    );
    return 0;
  } catch (error) {
    // Commander has already printed its own message (usage errors, --help, --version).
    if (error instanceof CommanderError) return error.exitCode;
    reportError(error, io, debug);
    return 1;
  }
}
