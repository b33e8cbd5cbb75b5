// The `camscope` executable's entry point (bin/camscope.js loads it).
import { processIo } from "./io.ts";
import { DEBUG_FLAG, reportError, runCli } from "./program.ts";

const args = process.argv.slice(2);
// A promise nobody awaited, or an error thrown from a callback, would otherwise end the process
// with a stack trace: it gets the CLI's one-line report too.
const crash = (error: unknown) => {
  reportError(error, processIo, args.includes(DEBUG_FLAG));
  process.exit(1);
};
process.on("unhandledRejection", crash);
process.on("uncaughtException", crash);
// Output piped into a command that exits early (camscope predict ... | head): stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  crash(error);
});

process.exitCode = await runCli(args, processIo);
