// Output paths that cannot be written: an existing file where a folder goes, a folder under a
// file, a read-only folder, an empty string, a full disk (/dev/full stands in for
// one: every write to it fails with ENOSPC), a folder where a file goes.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setReadOnly } from "../../testing/read-only.ts";
import { runInProcess } from "../harness.ts";
import type { CaseEnv, FuzzCase, Mention } from "../types.ts";
import { activationArgs, evaluateArgs, explainArgs } from "./common.ts";

type Command = "explain" | "activation" | "evaluate" | "compare";

/** The command's arguments with `--out` replaced by `out`. */
async function argsWithOut(env: CaseEnv, command: Command, out: string): Promise<string[]> {
  const replace = (args: string[]) => {
    const i = args.indexOf("--out");
    args[i + 1] = out;
    return args;
  };
  if (command === "explain") return replace(explainArgs(env, []));
  if (command === "activation") return replace(activationArgs(env, []));
  if (command === "evaluate") return replace(await evaluateArgs(env, ["--limit", "2"]));
  // compare needs a run to compare: one evaluate run into the scratch folder.
  const run = join(env.scratch, "run");
  await runInProcess(await evaluateArgs(env, ["--limit", "2"]));
  return ["compare", run, run, "--out", out];
}

export function outputCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const commands: Command[] = ["explain", "activation", "evaluate", "compare"];
  const add = (
    name: string,
    command: Command,
    out: (env: CaseEnv) => Promise<string>,
    mentions: (env: CaseEnv) => Mention[],
    cleanup?: (env: CaseEnv) => Promise<void>,
  ) =>
    cases.push({
      id: `output/${command}/${name}`,
      group: "output",
      run: async (env) => {
        const o = await out(env);
        return runInProcess(await argsWithOut(env, command, o));
      },
      expect: (env) => ({ error: mentions(env) }),
      ...(cleanup ? { cleanup } : {}),
    });

  for (const command of commands) {
    add(
      "existing-file",
      command,
      async (env) => {
        // activation writes a file, so the clash there is an existing folder.
        if (command === "activation") {
          await mkdir(join(env.scratch, "taken"));
          return join(env.scratch, "taken");
        }
        await writeFile(join(env.scratch, "file"), "x");
        return join(env.scratch, "file");
      },
      () => [command === "activation" ? "taken" : "file"],
    );
    add(
      "under-a-file",
      command,
      async (env) => {
        await writeFile(join(env.scratch, "file"), "x");
        return join(env.scratch, "file", command === "activation" ? "a.png" : "sub");
      },
      () => ["file"],
    );
    add(
      "read-only",
      command,
      async (env) => {
        const parent = join(env.scratch, "locked");
        await mkdir(parent);
        setReadOnly(parent, true);
        return join(parent, command === "activation" ? "a.png" : "sub");
      },
      () => ["locked"],
      async (env) => setReadOnly(join(env.scratch, "locked"), false),
    );
    add(
      "empty-string",
      command,
      async () => "",
      () => ["--out"],
    );
  }
  // A full disk at write time: a file the command writes is a link to /dev/full.
  add(
    "disk-full",
    "activation",
    async () => "/dev/full",
    () => ["/dev/full", /space/i],
  );
  add(
    "disk-full",
    "explain",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(out);
      await symlink("/dev/full", join(out, "maps.json"));
      return out;
    },
    () => ["maps.json", /space/i],
  );
  add(
    "disk-full-map",
    "explain",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(join(out, "star"), { recursive: true });
      await symlink("/dev/full", join(out, "star", "gradcam.npy"));
      return out;
    },
    () => ["gradcam.npy", /space/i],
  );
  add(
    "disk-full",
    "evaluate",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(out);
      await symlink("/dev/full", join(out, "summary.json"));
      return out;
    },
    () => ["summary.json", /space/i],
  );
  add(
    "disk-full-records",
    "evaluate",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(out);
      await symlink("/dev/full", join(out, "records.jsonl"));
      return out;
    },
    // Read before anything is appended: refused as not a regular file.
    () => ["records.jsonl", /not a regular file|space/i],
  );
  add(
    "disk-full",
    "compare",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(out);
      await symlink("/dev/full", join(out, "compare.csv"));
      return out;
    },
    () => ["compare.csv", /space/i],
  );
  // A folder where the command writes a file.
  add(
    "image-folder-is-a-file",
    "explain",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(out);
      await writeFile(join(out, "star"), "x");
      return out;
    },
    () => ["star"],
  );
  add(
    "records-is-a-folder",
    "evaluate",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(join(out, "records.jsonl"), { recursive: true });
      return out;
    },
    () => ["records.jsonl"],
  );
  add(
    "config-is-a-folder",
    "evaluate",
    async (env) => {
      const out = join(env.scratch, "out");
      await mkdir(join(out, "config.json"), { recursive: true });
      return out;
    },
    () => ["config.json"],
  );
  add(
    "out-is-dev-null",
    "explain",
    async () => "/dev/null",
    () => ["/dev/null"],
  );
  return cases;
}
