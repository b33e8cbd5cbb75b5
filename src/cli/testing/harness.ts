// Running the CLI in-process for tests: captured stdout and stderr, and small input files.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodePng } from "../../io/png.ts";
import type { Io } from "../io.ts";
import { runCli } from "../program.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `camscope <args>` in this process; `tty` makes stderr claim to be a terminal. */
export async function camscope(
  args: readonly string[],
  options: { tty?: boolean } = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: { write: (s: string) => (stdout += s) },
    err: { write: (s: string) => (stderr += s), isTTY: options.tty ?? false },
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** Writes `count` distinct gradient PNGs of assorted sizes into `dir` and returns their paths. */
export async function writeTestImages(dir: string, count: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const width = 20 + 3 * i;
    const height = 18 + 2 * i;
    const data = new Uint8Array(width * height * 3);
    for (let p = 0; p < data.length; p++) data[p] = (p * (i + 5) + 17 * i) % 256;
    const path = join(dir, `image-${i}.png`);
    await writeFile(path, await encodePng({ width, height, data }));
    paths.push(path);
  }
  return paths;
}
