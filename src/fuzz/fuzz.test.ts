// The quick part of the fuzz suite (QUICK in cases/index.ts): every case must end in the verdict
// it expects. `npm run fuzz` runs all of them and prints the tally.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { allCases, QUICK } from "./cases/index.ts";
import { makeFixtures } from "./fixtures.ts";
import { runPool } from "./pool.ts";

test("the quick fuzz cases all end in their expected verdict", { timeout: 300_000 }, async () => {
  const cases = allCases().filter((c) => QUICK.has(c.id));
  assert.equal(cases.length, QUICK.size, "every QUICK id names a case");
  const dir = await mkdtemp(join(tmpdir(), "camscope-fuzz-test-"));
  try {
    const fixtures = await makeFixtures(join(dir, "fixtures"));
    const outcomes = await runPool(cases, { fixtures, workDir: join(dir, "work") });
    const bad = outcomes.filter((o) => o.outcome !== "ok");
    assert.deepEqual(
      bad.map((o) => `${o.outcome} ${o.id}: ${o.detail}`),
      [],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the suite has at least 250 cases in every class of bad input", () => {
  const counts = new Map<string, number>();
  for (const c of allCases()) counts.set(c.group, (counts.get(c.group) ?? 0) + 1);
  assert.ok(allCases().length >= 250);
  for (const group of [
    "model",
    "image",
    "option",
    "dataset",
    "output",
    "numeric",
    "library",
    "concurrency",
    "interrupt",
  ]) {
    assert.ok((counts.get(group) ?? 0) >= 5, `${group}: ${counts.get(group)}`);
  }
});
