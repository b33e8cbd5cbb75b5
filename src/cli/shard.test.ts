import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RECORDS_FILE } from "../evaluate/store.ts";
import { camscope } from "./testing/harness.ts";
import {
  assertSameRun,
  lineCount,
  recordsWithoutTime,
  startCamscope,
  waitFor,
} from "./testing/processes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DATA = join(ROOT, "samples", "annotations.json");

// 7 images in batches of 2: batches 0..3. Three shards: 0 holds batches 0 and 3 (positions 0, 1
// and 6), 1 holds batch 1, 2 holds batch 2.
const args = (out: string, extra: string[] = []) => [
  "evaluate",
  "--model",
  "synth-resnet",
  "--data",
  DATA,
  "--methods",
  "gradcam,scorecam",
  "--metrics",
  "deletion-insertion,average-drop",
  "--batch-size",
  "2",
  "--threads",
  "1",
  "--examples",
  "3",
  "--out",
  out,
  ...extra,
];

let dir: string;
const at = (name: string) => join(dir, name);
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-shard-"));
});
after(() => rm(dir, { recursive: true, force: true }));

describe("evaluate --shard and merge", () => {
  test("merged shards (one killed with SIGKILL and resumed) equal one uninterrupted run, record by record and in order", async () => {
    const single = await camscope(args(at("single")));
    assert.equal(single.code, 0, single.stderr);

    // Shard 0 is killed once it has stored a record, before its last batch.
    const killed = startCamscope(args(at("s0"), ["--shard", "0/3"]));
    const records = join(at("s0"), RECORDS_FILE);
    await waitFor(
      "a stored record",
      async () => (await lineCount(records)) >= 1 || killed.child.exitCode !== null,
    );
    killed.child.kill("SIGKILL");
    await killed.exited;
    const stored = await lineCount(records);
    assert.ok(stored >= 1 && stored < 6, `killed after ${stored} of 6 records`);

    for (const i of [1, 2]) {
      const run = await camscope(args(at(`s${i}`), ["--shard", `${i}/3`]));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^shard ${i}/3: 4 records in `));
    }
    const early = await camscope(["merge", at("s0"), at("s1"), at("s2"), "--out", at("all")]);
    assert.equal(early.code, 1);
    assert.match(
      early.stderr,
      /^error: shard 0\/3 in ".*s0" has not finished \(its run was interrupted or is running\)\n/,
    );

    const resumed = await camscope(args(at("s0"), ["--shard", "0/3"]));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      new RegExp(`resumed: ${stored} records were already stored, ${6 - stored} new`),
    );

    const merged = await camscope(["merge", at("s2"), at("s0"), at("s1"), "--out", at("all")]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stderr, /merged 3 shards: 14 records \(14 new in /);
    assert.match(merged.stdout, /^method +deletion_auc/);
    await assertSameRun(at("all"), at("single"), { ordered: true });
    const html = await readFile(join(at("all"), "report.html"), "utf8");
    assert.match(html, /<h2>Win%<\/h2>/);

    // The merged folder is a whole run's folder: evaluate resumes it with nothing to do.
    const again = await camscope(args(at("all")));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resumed: 14 records were already stored, 0 new/);
  });

  test("merge refuses other configurations, missing, doubled, incomplete and overlapping shards", async () => {
    const merge = async (dirs: string[]) => {
      const run = await camscope(["merge", ...dirs.map(at), "--out", at("bad")]);
      assert.equal(run.code, 1, run.stderr);
      return run.stderr.split("\n")[0]!;
    };
    assert.match(
      await merge(["s0", "s1"]),
      /^error: shard 2\/3 is missing: give every shard's folder$/,
    );
    assert.match(await merge(["s0", "s1", "s1"]), /^error: Shard folder ".*s1" is given twice$/);
    await cp(at("s1"), at("s1copy"), { recursive: true });
    await rm(join(at("s1copy"), "lock"), { recursive: true });
    assert.match(
      await merge(["s0", "s1", "s1copy"]),
      /^error: ".*s1" and ".*s1copy" both hold shard 1\/3$/,
    );

    // Shard 1 with another seed (and a limit that leaves it no batch: a quick run).
    const other = await camscope(
      args(at("seed1"), ["--shard", "1/3", "--seed", "1", "--limit", "2"]),
    );
    assert.equal(other.code, 0, other.stderr);
    assert.match(
      await merge(["s0", "seed1", "s2"]),
      /^error: ".*seed1" holds another configuration than ".*s0" \(seed: 0 -> 1\); the shards of one run share every option but --shard and --out$/,
    );

    // A shard missing a record (its last line cut away).
    await cp(at("s2"), at("cut"), { recursive: true });
    await rm(join(at("cut"), "lock"), { recursive: true });
    const lines = (await readFile(join(at("cut"), RECORDS_FILE), "utf8")).split("\n");
    await writeFile(join(at("cut"), RECORDS_FILE), `${lines.slice(0, -2).join("\n")}\n`);
    assert.match(
      await merge(["s0", "s1", "cut"]),
      /^error: shard 2\/3 in ".*cut" is incomplete: 1 records missing \(the first: image "[^"]+", method scorecam\)$/,
    );

    // Shard 1's records presented as shard 2: not disjoint.
    await cp(at("s1"), at("fake2"), { recursive: true });
    await rm(join(at("fake2"), "lock"), { recursive: true });
    const info = JSON.parse(await readFile(join(at("fake2"), "shard.json"), "utf8")) as {
      shard: { index: number };
    };
    info.shard.index = 2;
    await writeFile(join(at("fake2"), "shard.json"), JSON.stringify(info));
    assert.match(
      await merge(["s0", "s1", "fake2"]),
      /^error: ".*fake2" \(shard 2\/3\) holds a record of image "[^"]+", which belongs to another shard; the shards are not disjoint$/,
    );

    assert.match(
      await merge(["single"]),
      /^error: ".*single" is not a shard: it has no shard\.json/,
    );
    const into = await camscope(["merge", at("s0"), at("s1"), at("s2"), "--out", at("s1")]);
    assert.equal(into.code, 1);
    assert.match(
      into.stderr,
      /^error: --out ".*s1" is one of the shards; give the merged run a folder of its own\n/,
    );
  });

  test("a shard's folder and a whole run's folder are not mixed up; a bad --shard is one line", async () => {
    const whole = await camscope(args(at("s0")));
    assert.equal(whole.code, 1);
    assert.match(whole.stderr, /^error: ".*s0" holds shard 0\/3 of a run, not a whole run\n/);
    const other = await camscope(args(at("s0"), ["--shard", "1/3"]));
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^error: ".*s0" holds shard 0\/3, not shard 1\/3;/);
    const intoWhole = await camscope(args(at("single"), ["--shard", "0/3"]));
    assert.equal(intoWhole.code, 1);
    assert.match(
      intoWhole.stderr,
      /^error: ".*single" holds a whole run's results, not shard 0\/3\n/,
    );
    // The whole run's records are untouched by the refusals.
    assert.equal((await recordsWithoutTime(at("single"))).length, 14);

    const bad = await camscope(args(at("x"), ["--shard", "3/2"]));
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      'error: --shard "3/2": the shard index must be from 0 to 1 (shards are numbered from 0)\nshard i of N is --shard i/N, i from 0 to N-1 (e.g. --shard 0/4 ... --shard 3/4)\n',
    );
  });
});
