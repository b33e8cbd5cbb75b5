// Runs what the docs show, so they cannot go stale: every sh block, every "$ command" of a console
// block (its shown output must appear in what it prints) and every TypeScript example (type-checked
// against the sources, then run), in a scratch folder that looks like a checkout (links to the
// repository's files; docs/ and every output folder left out, so nothing in the checkout is
// written). The blocks of one page share a folder and run in order, as a reader would type them.
// Blocks marked <!-- check {"skip": "why"} --> are listed with their reason; markup is described
// in scripts/docs/blocks.ts. .ci/run calls it; about 4 minutes on 2 quiet cores.
//
//   node --import tsx scripts/check-docs.ts [--only README.md,docs/cli.md] [--list] [--keep]
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  consoleCommands,
  missingOutput,
  omitCommands,
  outputPaths,
  shellCommands,
  type DocBlock,
} from "./docs/blocks.ts";
import { docPages, linkProblems, readBlocks } from "./docs/pages.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Never linked into a scratch folder: the docs themselves, git, and what commands write. */
const NOT_LINKED = new Set([".git", "docs", "dist", "out", "runs", "tmp", "data", "tsconfig.json"]);
// Generous: the slowest block takes about 40 s alone on 2 cores, 4 minutes when they are shared.
const DEFAULT_TIMEOUT_S = 600;
const OUTPUT_TAIL = 4000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
}

/** Runs a command in its own process group, so a timeout ends it and everything it started. */
function run(command: string, args: string[], cwd: string, timeoutS: number): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group ended between the timeout and the kill.
      }
    }, timeoutS * 1000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      resolve({ code, stdout, stderr, timedOut, seconds });
    });
  });
}

/** A folder that looks like the checkout to the commands run in it. */
function scratchCheckout(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(ROOT)) {
    if (!NOT_LINKED.has(name)) symlinkSync(join(ROOT, name), join(dir, name));
  }
  // `import ... from "camscope"` in the examples means the sources, for tsc and for tsx alike.
  const tsconfig = {
    extends: join(ROOT, "tsconfig.json"),
    compilerOptions: {
      rootDir: "/",
      noEmit: true,
      paths: { camscope: [join(ROOT, "src/index.ts")] },
      typeRoots: [join(ROOT, "node_modules/@types")],
    },
    include: ["examples/*.ts"],
  };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
}

const tail = (s: string): string => (s.length > OUTPUT_TAIL ? "..." + s.slice(-OUTPUT_TAIL) : s);

function failure(result: RunResult, what: string): string {
  const why = result.timedOut ? "timed out" : `exited with status ${result.code}`;
  return `${what} ${why} after ${result.seconds.toFixed(1)} s\n${tail(result.stdout + result.stderr)}`;
}

/** The files a block says it writes that are missing (or empty folders). */
function missingWrites(dir: string, paths: readonly string[]): string[] {
  return paths.filter((p) => {
    const full = join(dir, p);
    if (!existsSync(full)) return true;
    return statSync(full).isDirectory() && readdirSync(full).length === 0;
  });
}

interface Tally {
  ran: number;
  commands: number;
  examples: number;
  skipped: { place: string; commands: number; why: string }[];
  omitted: { place: string; commands: number; why: string }[];
  failures: string[];
}

async function runShell(block: DocBlock, dir: string, tally: Tally): Promise<string> {
  const place = `${block.file}:${block.line}`;
  let script = block.body;
  if (block.directive.omit) {
    const { script: kept, omitted } = omitCommands(script, block.directive.omit);
    script = kept;
    tally.omitted.push({ place, commands: omitted, why: block.directive.why! });
  }
  const file = join(dir, `.block-${block.line}.sh`);
  writeFileSync(file, script + "\n");
  const result = await run(
    "bash",
    ["-e", "-o", "pipefail", file],
    dir,
    block.directive.timeout ?? DEFAULT_TIMEOUT_S,
  );
  if (result.code !== 0) {
    tally.failures.push(`${place}: ${failure(result, "the block")}`);
    return `FAIL ${result.seconds.toFixed(1)} s`;
  }
  // A line left as `true` by "omit" ran nothing.
  const commands = shellCommands(script).filter((c) => c !== "true");
  const writes = [...commands.flatMap(outputPaths), ...(block.directive.writes ?? [])];
  const missing = missingWrites(dir, writes);
  if (missing.length > 0) {
    tally.failures.push(`${place}: the block ran but did not write ${missing.join(", ")}`);
    return "FAIL (missing output)";
  }
  tally.ran++;
  tally.commands += commands.length;
  return `ok ${result.seconds.toFixed(1)} s, ${commands.length} command(s)`;
}

async function runConsole(block: DocBlock, dir: string, tally: Tally): Promise<string> {
  const place = `${block.file}:${block.line}`;
  let seconds = 0;
  const commands = consoleCommands(block.body);
  for (const { command, expected } of commands) {
    const result = await run(
      "bash",
      // One stream, as a terminal shows it: shown output may come from stdout or stderr.
      ["-e", "-o", "pipefail", "-c", `exec 2>&1\n${command}`],
      dir,
      block.directive.timeout ?? DEFAULT_TIMEOUT_S,
    );
    seconds += result.seconds;
    if (result.code !== 0) {
      tally.failures.push(`${place}: ${failure(result, `"${command}"`)}`);
      return "FAIL";
    }
    if (block.directive.ignoreOutput === undefined) {
      const missing = missingOutput(expected, result.stdout);
      if (missing.length > 0) {
        tally.failures.push(
          `${place}: "${command}" no longer prints:\n  ${missing.join("\n  ")}\nit printed:\n${tail(result.stdout)}`,
        );
        return "FAIL (output changed)";
      }
    }
    const missing = missingWrites(dir, [
      ...outputPaths(command),
      ...(block.directive.writes ?? []),
    ]);
    if (missing.length > 0) {
      tally.failures.push(`${place}: "${command}" did not write ${missing.join(", ")}`);
      return "FAIL (missing output)";
    }
  }
  tally.ran++;
  tally.commands += commands.length;
  return `ok ${seconds.toFixed(1)} s, ${commands.length} command(s)`;
}

async function runExample(block: DocBlock, dir: string, tally: Tally): Promise<string> {
  const place = `${block.file}:${block.line}`;
  if (block.directive.typecheckOnly !== undefined) {
    tally.skipped.push({
      place,
      commands: 1,
      why: `type-checked, not run: ${block.directive.typecheckOnly}`,
    });
    return "type-checked only";
  }
  const file = `examples/L${block.line}.ts`;
  const result = await run(
    process.execPath,
    ["--import", "tsx", file],
    dir,
    block.directive.timeout ?? DEFAULT_TIMEOUT_S,
  );
  if (result.code !== 0) {
    tally.failures.push(`${place}: ${failure(result, "the example")}`);
    return "FAIL";
  }
  const missing = missingWrites(dir, block.directive.writes ?? []);
  if (missing.length > 0) {
    tally.failures.push(`${place}: the example ran but did not write ${missing.join(", ")}`);
    return "FAIL (missing output)";
  }
  tally.ran++;
  tally.examples++;
  return `ok ${result.seconds.toFixed(1)} s`;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const started = performance.now();
  const only = option("--only")?.split(",");
  const pages = docPages(ROOT).filter((p) => !only || only.includes(p));
  if (only && pages.length !== only.length) {
    console.error(`check-docs: no such page among ${docPages(ROOT).join(", ")}`);
    return 1;
  }
  const { blocks, problems } = readBlocks(ROOT, pages);
  problems.push(...linkProblems(ROOT, pages));
  if (problems.length > 0) {
    console.error(
      `check-docs: ${problems.length} problem(s) in the markup:\n${problems.join("\n")}`,
    );
    return 1;
  }
  const runnable = blocks.filter((b) => b.kind !== "text" || b.directive.skip !== undefined);
  if (process.argv.includes("--list")) {
    for (const b of runnable) {
      const mark = b.directive.skip !== undefined ? `skip: ${b.directive.skip}` : "run";
      console.log(`${b.file}:${b.line} ${b.lang || "text"} ${mark}`);
    }
    return 0;
  }

  const work = mkdtempSync(join(tmpdir(), "camscope-docs-"));
  const tally: Tally = { ran: 0, commands: 0, examples: 0, skipped: [], omitted: [], failures: [] };
  try {
    const dirs = new Map<string, string>();
    for (const page of pages) {
      const dir = join(work, page.replace(/\//g, "__"));
      scratchCheckout(dir);
      dirs.set(page, dir);
    }

    // Every example type-checks before any runs: one tsc over all of them.
    const examples = runnable.filter(
      (b) => b.kind === "typescript" && b.directive.skip === undefined,
    );
    if (examples.length > 0) {
      const files: string[] = [];
      for (const b of examples) {
        const dir = join(dirs.get(b.file)!, "examples");
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `L${b.line}.ts`), b.body + "\n");
        files.push(join(dir, `L${b.line}.ts`));
      }
      const project = join(work, "tsconfig.examples.json");
      writeFileSync(
        project,
        JSON.stringify({
          extends: join(ROOT, "tsconfig.json"),
          compilerOptions: {
            rootDir: "/",
            noEmit: true,
            paths: { camscope: [join(ROOT, "src/index.ts")] },
            typeRoots: [join(ROOT, "node_modules/@types")],
          },
          files,
        }),
      );
      const tsc = await run(
        process.execPath,
        [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project],
        work,
        600,
      );
      console.log(
        `tsc: ${examples.length} example(s) ${tsc.code === 0 ? "type-check" : "FAIL"} (${tsc.seconds.toFixed(1)} s)`,
      );
      if (tsc.code !== 0) {
        // tsc names the scratch file and a (line, column) in it: name the page's line instead.
        let out = tsc.stdout;
        for (const b of examples) {
          const file = `${b.file.replace(/\//g, "__")}/examples/L${b.line}.ts`;
          out = out.replace(
            new RegExp(`${file.replace(/[.]/g, "\\.")}\\((\\d+),(\\d+)\\)`, "g"),
            (_m, row: string, col: string) => `${b.file}:${b.line + Number(row)}:${col}`,
          );
        }
        tally.failures.push(`TypeScript examples do not type-check:\n${tail(out)}`);
      }
    }

    for (const block of runnable) {
      const place = `${block.file}:${block.line}`;
      const dir = dirs.get(block.file)!;
      if (block.directive.skip !== undefined) {
        const commands =
          block.kind === "console"
            ? consoleCommands(block.body).length
            : block.kind === "typescript"
              ? 1
              : shellCommands(block.body).length;
        tally.skipped.push({ place, commands, why: block.directive.skip });
        console.log(`${place} ${block.lang || "text"}: skipped (${block.directive.skip})`);
        continue;
      }
      const outcome =
        block.kind === "shell"
          ? await runShell(block, dir, tally)
          : block.kind === "console"
            ? await runConsole(block, dir, tally)
            : await runExample(block, dir, tally);
      console.log(`${place} ${block.lang}: ${outcome}`);
    }
  } finally {
    if (process.argv.includes("--keep")) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const skippedCommands = tally.skipped.reduce((n, s) => n + s.commands, 0);
  const omittedCommands = tally.omitted.reduce((n, s) => n + s.commands, 0);
  console.log(
    `\ndocs check: ${tally.ran} block(s) ran (${tally.commands} command(s), ${tally.examples} TypeScript example(s)); ` +
      `${skippedCommands} command(s) in ${tally.skipped.length} block(s) skipped, ${omittedCommands} omitted; ${seconds} s`,
  );
  for (const s of tally.skipped) console.log(`  skipped ${s.place} (${s.commands}): ${s.why}`);
  for (const s of tally.omitted) console.log(`  omitted ${s.place} (${s.commands}): ${s.why}`);
  if (tally.failures.length > 0) {
    console.error(`\n${tally.failures.length} failure(s):\n\n${tally.failures.join("\n\n")}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
