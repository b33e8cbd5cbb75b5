import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { annotationsHash, manifestEntries } from "./dataset-identity.ts";
import type { EvalRecord } from "./records.ts";
import { canonicalJson, configHash, readRun, RECORDS_FILE, RunStore } from "./store.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camscope-store-"));
});
after(() => rm(dir, { recursive: true, force: true }));

function record(image: string, method: string, value: number): EvalRecord {
  return {
    image,
    file: `/data/${image}.png`,
    method,
    class: 1,
    label: "square",
    probability: 0.5,
    values: { deletion_auc: value, pointing: null },
    curves: { deletion: [1, value, 0] },
    cost: { milliseconds: 3, forward: 2, backward: 1 },
    notes: ["pointing: no boxes or mask"],
  };
}

const config = { model: "synth-vgg", methods: ["gradcam"], seed: 0 };

describe("RunStore", () => {
  test("canonical JSON ignores key order, so the hash does too", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } }),
      canonicalJson({ a: { c: [3, { e: 0, f: 1 }], d: 2 }, b: 1 }),
    );
    assert.equal(configHash({ x: 1, y: 2 }), configHash({ y: 2, x: 1 }));
    assert.notEqual(configHash({ x: 1 }), configHash({ x: 2 }));
  });

  test("appends records once, reopens with them, and skips duplicates", async () => {
    const out = join(dir, "append");
    const { store } = await RunStore.open(out, config);
    assert.equal(await store.append([record("a", "gradcam", 0.1), record("b", "gradcam", 0.2)]), 2);
    assert.equal(await store.append([record("a", "gradcam", 0.9), record("c", "gradcam", 0.3)]), 1);
    await store.close();
    const { store: again, droppedTornLine } = await RunStore.open(out, {
      seed: 0,
      methods: ["gradcam"],
      model: "synth-vgg",
    });
    assert.equal(droppedTornLine, false);
    assert.deepEqual(again.records(), [
      record("a", "gradcam", 0.1),
      record("b", "gradcam", 0.2),
      record("c", "gradcam", 0.3),
    ]);
    assert.ok(again.has("b", "gradcam") && !again.has("b", "scorecam"));
    const lines = (await readFile(join(out, RECORDS_FILE), "utf8")).split("\n");
    assert.equal(lines.length, 4);
    assert.equal(lines[3], "");
  });

  test("a torn last line is dropped and cut off, so the next append starts a clean line", async () => {
    const out = join(dir, "torn");
    const { store } = await RunStore.open(out, config);
    await store.append([record("a", "gradcam", 0.1)]);
    const full = JSON.stringify(record("b", "gradcam", 0.2));
    await appendFile(join(out, RECORDS_FILE), full.slice(0, 40));
    await store.close();
    const reopened = await RunStore.open(out, config);
    assert.equal(reopened.droppedTornLine, true);
    assert.deepEqual(
      reopened.store.records().map((r) => r.image),
      ["a"],
    );
    assert.equal(reopened.store.has("b", "gradcam"), false);
    await reopened.store.append([record("b", "gradcam", 0.2)]);
    const run = await readRun<typeof config>(out);
    assert.deepEqual(run.records, [record("a", "gradcam", 0.1), record("b", "gradcam", 0.2)]);
    assert.deepEqual(run.config, config);
  });

  test("a different configuration is refused, naming what changed", async () => {
    const out = join(dir, "changed");
    const { store } = await RunStore.open(out, config);
    await store.append([record("a", "gradcam", 0.1)]);
    await store.close();
    await assert.rejects(
      RunStore.open(out, { ...config, methods: ["gradcam", "scorecam"] }),
      (error: unknown) =>
        error instanceof CamscopeError &&
        error.code === "RUN_MISMATCH" &&
        error.message.includes(`methods: ["gradcam"] -> ["gradcam","scorecam"]`) &&
        error.hint === `use a new --out folder, or delete "${out}" to start over`,
    );
    // The old results are untouched.
    assert.equal((await readRun(out)).records.length, 1);
  });

  test("a corrupt line in the middle is an error, not silently skipped", async () => {
    const out = join(dir, "corrupt");
    await (await RunStore.open(out, config)).store.close();
    await writeFile(
      join(out, RECORDS_FILE),
      `${JSON.stringify(record("a", "gradcam", 1))}\n{oops\n`,
    );
    await assert.rejects(RunStore.open(out, config), /is corrupt at line 2/);
  });

  test("one writer at a time: a second open is refused until the first closes", async () => {
    const out = join(dir, "locked");
    const { store } = await RunStore.open(out, config);
    await assert.rejects(
      RunStore.open(out, config),
      (e: unknown) => e instanceof CamscopeError && e.code === "RUN_IN_USE",
    );
    await store.close();
    await (await RunStore.open(out, config)).store.close();
  });

  test("changed annotations or image bytes under the same names are refused, naming them", async () => {
    const out = join(dir, "data");
    const image = join(dir, "image.png");
    await writeFile(image, "pixels");
    const open = (x1: number) => {
      const entries = manifestEntries([
        { id: "1:3", file: image, boxes: [{ x0: 0, y0: 0, x1, y1: 2 }] },
      ]);
      const dataConfig = { ...config, dataset: annotationsHash(entries) };
      return RunStore.open(out, dataConfig, { dataset: { entries, evaluate: new Set(["1:3"]) } });
    };
    const first = await open(2);
    assert.equal(first.hashed, 1);
    await first.store.close();
    await assert.rejects(
      open(3),
      (e: unknown) =>
        e instanceof CamscopeError &&
        e.code === "RUN_MISMATCH" &&
        e.message.includes(`the annotations of record "1:3" (image "${image}") changed`),
    );
    await writeFile(image, "new pixels");
    await assert.rejects(
      open(2),
      (e: unknown) =>
        e instanceof CamscopeError &&
        e.message.includes(`image "${image}" (record "1:3") changed since the run began`),
    );
  });

  test("reading a folder that is not a run names it", async () => {
    await assert.rejects(readRun(join(dir, "nothing")), /is not an evaluation run folder/);
  });
});
