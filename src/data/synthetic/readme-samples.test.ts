import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import sharp from "sharp";
import type { CocoDataset } from "./coco.ts";
import { exportReadmeSamples } from "./readme-samples.ts";

const committed = fileURLToPath(new URL("../../../samples/", import.meta.url));

async function pixels(path: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(path).raw().toBuffer());
}

test("samples/ is what `export-synthetic --readme-samples` writes", async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), "camscope-samples-"));
  t.after(() => rm(outDir, { recursive: true, force: true }));
  const names = await exportReadmeSamples(outDir);
  assert.equal(names.length, 6);

  const dataset = JSON.parse(
    await readFile(join(outDir, "annotations.json"), "utf8"),
  ) as CocoDataset;
  assert.deepEqual(
    dataset.images.map((image) => image.file_name),
    names.map((name) => `${name}.png`),
  );
  assert.ok(dataset.images.some((image) => image.labels.length === 2));
  assert.equal(
    await readFile(join(outDir, "annotations.json"), "utf8"),
    await readFile(join(committed, "annotations.json"), "utf8"),
    "samples/ is stale: regenerate it with scripts/export-synthetic.ts --readme-samples",
  );
  // Pixels rather than PNG bytes: the encoder's output may differ between sharp versions.
  for (const name of names) {
    for (const file of [`${name}.png`, join("masks", `${name}.png`)]) {
      assert.deepEqual(await pixels(join(outDir, file)), await pixels(join(committed, file)), file);
    }
  }
});
