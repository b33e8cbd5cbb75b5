// The `camscope` executable's entry point (bin/camscope.js loads it).
import { processIo } from "./io.ts";
import { runCli } from "./program.ts";

process.exitCode = await runCli(process.argv.slice(2), processIo);
