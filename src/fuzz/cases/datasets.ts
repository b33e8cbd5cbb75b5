// Bad datasets (missing files, broken annotations, data changed under a run folder, --limit
// shrinking a run) and bad run folders for compare.
import { execFileSync } from "node:child_process";
import {
  appendFile,
  cp,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { readRecords, summaryCounts } from "../checks.ts";
import { copySampleDataset } from "../fixtures.ts";
import { cliCase, runInProcess, succeeds } from "../harness.ts";
import type { CaseEnv, FuzzCase, Observation } from "../types.ts";
import { evaluateArgs } from "./common.ts";

interface Coco {
  images: { id: number; file_name: string; width?: number; height?: number }[];
  annotations: {
    id: number;
    image_id: number;
    category_id: number;
    bbox: unknown;
    segmentation?: unknown;
  }[];
  categories: { id: number; name: string }[];
}

async function editCoco(path: string, edit: (json: Coco) => void): Promise<void> {
  const json = JSON.parse(await readFile(path, "utf8")) as Coco;
  edit(json);
  await writeFile(path, JSON.stringify(json));
}

/** evaluate on a copy of the samples after `prepare` changed it. */
function evaluateOn(prepare: (data: string, json: string) => Promise<void>, extra: string[] = []) {
  return async (env: CaseEnv) => {
    const json = await copySampleDataset(join(env.scratch, "data"));
    await prepare(join(env.scratch, "data"), json);
    return evaluateArgs(env, extra, json);
  };
}

/** Success with `count` records stored. */
function storesRecords(count: number) {
  return {
    ok: async (_observed: Observation, env: CaseEnv) => {
      const records = await readRecords(join(env.scratch, "run"));
      return records.length === count
        ? undefined
        : `${records.length} records stored, expected ${count}`;
    },
  };
}

/**
 * A first evaluate run, a change to its data, then a second run into the same folder: the
 * second is what the case observes.
 */
function changedBetweenRuns(
  change: (data: string, json: string) => Promise<void>,
  extra: string[] = [],
) {
  return async (env: CaseEnv): Promise<Observation> => {
    const json = await copySampleDataset(join(env.scratch, "data"));
    const args = await evaluateArgs(env, extra, json);
    const first = await runInProcess(args);
    if (first.kind === "cli" && first.code !== 0) return first;
    await change(join(env.scratch, "data"), json);
    return runInProcess(args);
  };
}

/** New pixels in an image, same size and name. */
async function repaint(path: string): Promise<void> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i += 7) data[i] = 255 - data[i]!;
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .png()
    .toFile(`${path}.new`);
  await rename(`${path}.new`, path);
}

export function datasetCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const fails = (
    id: string,
    prepare: (data: string, json: string) => Promise<void>,
    mentions: (string | RegExp)[],
    extra: string[] = [],
  ) =>
    cases.push(
      cliCase(`dataset/${id}`, "dataset", evaluateOn(prepare, extra), { error: mentions }),
    );
  const skips = (
    id: string,
    prepare: (data: string, json: string) => Promise<void>,
    records: number,
    mention: string,
  ) =>
    cases.push(
      cliCase(`dataset/${id}`, "dataset", evaluateOn(prepare), {
        ok: async (observed, env) => {
          if (
            observed.kind === "cli" &&
            !observed.stderr.toLowerCase().includes(mention.toLowerCase())
          ) {
            return `stderr does not name ${mention}`;
          }
          return storesRecords(records).ok(observed, env);
        },
      }),
    );

  cases.push(
    cliCase(
      "dataset/path-missing",
      "dataset",
      (env) => evaluateArgs(env, [], join(env.scratch, "nowhere")),
      { error: ["nowhere"] },
    ),
    cliCase(
      "dataset/path-empty-folder",
      "dataset",
      async (env) => {
        await mkdir(join(env.scratch, "empty"));
        return evaluateArgs(env, [], join(env.scratch, "empty"));
      },
      { error: ["empty"] },
    ),
    cliCase(
      "dataset/path-dev-zero",
      "dataset",
      (env) => evaluateArgs(env, [], "/dev/zero"),
      { error: ["/dev/zero"] },
      { timeoutMs: 10_000 },
    ),
    cliCase(
      "dataset/path-image",
      "dataset",
      (env) => evaluateArgs(env, [], env.fixtures.images.star!),
      { error: ["star.png"] },
    ),
    cliCase("dataset/path-empty-string", "dataset", (env) => evaluateArgs(env, [], ""), {
      error: ["--data"],
    }),
  );
  fails(
    "annotations-fifo",
    async (data, json) => {
      await rm(json);
      execFileSync("mkfifo", [json]);
    },
    ["annotations.json"],
  );
  fails("annotations-not-json", async (_data, json) => writeFile(json, "{ not json"), [
    "annotations.json",
  ]);
  fails(
    "annotations-no-arrays",
    async (_data, json) => writeFile(json, JSON.stringify({ images: 3 })),
    ["annotations.json"],
  );
  fails(
    "annotations-empty-lists",
    async (_data, json) =>
      writeFile(json, JSON.stringify({ images: [], annotations: [], categories: [] })),
    ["annotations.json"],
  );
  fails(
    "all-images-missing",
    async (data) => {
      for (const n of ["star", "arrow", "ring", "heart", "cross", "heart-and-square"])
        await rm(join(data, `${n}.png`));
    },
    ["annotations.json"],
  );
  fails(
    "all-images-not-images",
    async (data) => {
      for (const n of ["star", "arrow", "ring", "heart", "cross", "heart-and-square"])
        await writeFile(join(data, `${n}.png`), "text");
    },
    ["annotations.json"],
  );
  fails(
    "all-boxes-outside",
    async (_data, json) =>
      editCoco(json, (c) => c.annotations.forEach((a) => (a.bbox = [500, 500, 10, 10]))),
    ["annotations.json"],
  );
  fails(
    "all-categories-unknown",
    async (_data, json) =>
      editCoco(json, (c) => c.categories.forEach((k) => (k.name = `not-${k.name}`))),
    ["annotations.json"],
  );

  skips("one-image-missing", (data) => rm(join(data, "star.png")), 6, "star.png");
  skips(
    "one-image-fifo",
    async (data) => {
      await rm(join(data, "star.png"));
      execFileSync("mkfifo", [join(data, "star.png")]);
    },
    6,
    "star.png",
  );
  skips(
    "one-image-truncated",
    async (data) => {
      const bytes = await readFile(join(data, "star.png"));
      await writeFile(join(data, "star.png"), bytes.subarray(0, bytes.length / 2));
    },
    6,
    "star",
  );
  skips(
    "box-outside",
    (_data, json) => editCoco(json, (c) => (c.annotations[0]!.bbox = [500, 500, 10, 10])),
    6,
    "box",
  );
  skips(
    "box-not-numbers",
    (_data, json) => editCoco(json, (c) => (c.annotations[0]!.bbox = ["a", 1, 2, 3])),
    6,
    "bbox",
  );
  skips(
    "box-negative-size",
    (_data, json) => editCoco(json, (c) => (c.annotations[0]!.bbox = [10, 10, -5, -5])),
    6,
    "box",
  );
  skips(
    "segmentation-broken",
    (_data, json) =>
      editCoco(json, (c) => (c.annotations[0]!.segmentation = { counts: "x", size: [1] })),
    6,
    "segmentation",
  );
  skips(
    "size-mismatch",
    (_data, json) => editCoco(json, (c) => (c.images[0]!.width = 999)),
    6,
    "999",
  );
  skips(
    "unlisted-image",
    (_data, json) =>
      editCoco(json, (c) =>
        c.annotations.push({ id: 99, image_id: 12345, category_id: 3, bbox: [1, 1, 2, 2] }),
      ),
    7,
    "12345",
  );
  // Two entries with one image id: the second would share the first's record ids.
  skips(
    "duplicate-image-id",
    // arrow.png takes star's id: it is left out as a duplicate, and arrow's annotation as one
    // of an unlisted image, so 6 of the 7 records remain.
    (_data, json) => editCoco(json, (c) => (c.images[1]!.id = c.images[0]!.id)),
    6,
    "duplicate",
  );

  // Changed data under a run folder: refused, naming the file; an unchanged one (only touched,
  // or copied elsewhere and back) resumes.
  const changed = (
    id: string,
    change: (data: string, json: string) => Promise<void>,
    mentions: (string | RegExp)[],
  ) =>
    cases.push({
      id: `dataset/changed/${id}`,
      group: "dataset",
      run: changedBetweenRuns(change),
      expect: { error: mentions },
    });
  changed("pixels", (data) => repaint(join(data, "star.png")), ["star.png"]);
  changed(
    "pixels-mtime-kept",
    async (data) => {
      const path = join(data, "arrow.png");
      const before = await stat(path);
      await repaint(path);
      await utimes(path, before.atime, before.mtime);
    },
    ["arrow.png"],
  );
  changed(
    "pixels-swapped-files",
    async (data) => {
      await cp(join(data, "ring.png"), join(data, "tmp.png"));
      await cp(join(data, "heart.png"), join(data, "ring.png"));
      await cp(join(data, "tmp.png"), join(data, "heart.png"));
    },
    [/ring\.png|heart\.png/],
  );
  changed(
    "boxes",
    (_data, json) =>
      editCoco(json, (c) => {
        const a = c.annotations.find((x) => x.image_id === 15)!;
        a.bbox = [30, 6, 40, 62];
      }),
    [/arrow|15:9/],
  );
  changed(
    "segmentation",
    (_data, json) =>
      editCoco(json, (c) => {
        const a = c.annotations.find((x) => x.image_id === 15)!;
        delete a.segmentation;
      }),
    [/arrow|15:9/],
  );
  changed(
    "label",
    (_data, json) =>
      editCoco(json, (c) => {
        const a = c.annotations.find((x) => x.image_id === 3)!;
        a.category_id = 2;
      }),
    [/ring|3:/],
  );
  cases.push(
    {
      id: "dataset/unchanged/touched",
      group: "dataset",
      run: changedBetweenRuns(async (data) => {
        const now = new Date();
        await utimes(join(data, "star.png"), now, now);
      }),
      expect: storesRecords(7),
    },
    {
      id: "dataset/unchanged/rewritten-same-bytes",
      group: "dataset",
      run: changedBetweenRuns(async (data) => {
        const path = join(data, "ring.png");
        await writeFile(path, await readFile(path));
      }),
      expect: storesRecords(7),
    },
  );

  // --limit: a smaller limit tabulates only the first images; a larger one extends the run.
  cases.push(
    {
      id: "dataset/limit-shrinks",
      group: "dataset",
      run: async (env) => {
        const args = await evaluateArgs(env, []);
        const first = await runInProcess(args);
        if (first.kind === "cli" && first.code !== 0) return first;
        return runInProcess([...args, "--limit", "2"]);
      },
      expect: {
        ok: async (_observed, env) => {
          const counts = await summaryCounts(join(env.scratch, "run"));
          const n = counts?.get("gradcam/pointing");
          return n === 2 ? undefined : `the table counts ${n} records with --limit 2`;
        },
      },
    },
    {
      id: "dataset/limit-grows",
      group: "dataset",
      run: async (env) => {
        const args = await evaluateArgs(env, []);
        const first = await runInProcess([...args, "--limit", "2"]);
        if (first.kind === "cli" && first.code !== 0) return first;
        return runInProcess(args);
      },
      expect: {
        ok: async (observed, env) => {
          const wrong = await storesRecords(7).ok(observed, env);
          if (wrong) return wrong;
          const n = (await summaryCounts(join(env.scratch, "run")))?.get("gradcam/pointing");
          return n === 7 ? undefined : `the table counts ${n} records`;
        },
      },
    },
    {
      id: "dataset/different-configuration",
      group: "dataset",
      run: async (env) => {
        const args = await evaluateArgs(env, []);
        const first = await runInProcess(args);
        if (first.kind === "cli" && first.code !== 0) return first;
        return runInProcess([...args, "--seed", "5"]);
      },
      expect: { error: ["seed", "run"] },
    },
  );

  // compare: folders that are not runs, and damaged runs.
  const run = async (env: CaseEnv) => {
    const args = await evaluateArgs(env, ["--limit", "2"]);
    await runInProcess(args);
    return join(env.scratch, "run");
  };
  const compare = (
    id: string,
    prepare: (env: CaseEnv, run: string) => Promise<string[]>,
    expect: FuzzCase["expect"],
  ) =>
    cases.push(
      cliCase(
        `dataset/compare/${id}`,
        "dataset",
        async (env) => ["compare", ...(await prepare(env, await run(env)))],
        expect,
      ),
    );
  compare("missing", async (env, r) => [r, join(env.scratch, "nowhere")], { error: ["nowhere"] });
  compare("a-file", async (env, r) => [r, env.fixtures.images.star!], { error: ["star.png"] });
  compare(
    "empty-folder",
    async (env, r) => {
      await mkdir(join(env.scratch, "empty"));
      return [r, join(env.scratch, "empty")];
    },
    { error: ["empty"] },
  );
  compare(
    "config-corrupt",
    async (env, r) => {
      const other = join(env.scratch, "other");
      await cp(r, other, { recursive: true });
      await writeFile(join(other, "config.json"), "{");
      return [r, other];
    },
    { error: ["config.json"] },
  );
  compare(
    "records-corrupt",
    async (env, r) => {
      const other = join(env.scratch, "other");
      await cp(r, other, { recursive: true });
      const text = await readFile(join(other, "records.jsonl"), "utf8");
      await writeFile(join(other, "records.jsonl"), `garbage\n${text}`);
      return [r, other];
    },
    { error: ["records.jsonl", "line 1"] },
  );
  compare(
    "records-torn",
    async (env, r) => {
      const other = join(env.scratch, "other");
      await cp(r, other, { recursive: true });
      await appendFile(join(other, "records.jsonl"), '{"image":"x"');
      return [r, other];
    },
    succeeds,
  );
  compare("same-run-twice", async (_env, r) => [r, r], succeeds);
  return cases;
}
