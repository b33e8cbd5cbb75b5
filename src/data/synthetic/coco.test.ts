import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { exportCocoSplit } from "./coco.ts";
import type { CocoDataset } from "./coco.ts";
import { SYNTHETIC_CLASSES, generateSplit } from "./generator.ts";
import { datasetHash } from "./hash.ts";
import { decodeRle } from "./rle.ts";

/** The PNG's stored size and channel count, and its pixels in that many channels. */
async function decode(path: string) {
  const { width, height, channels, format } = await sharp(path).metadata();
  // sharp decodes grayscale to RGB unless told otherwise.
  const colourspace = channels === 1 ? "b-w" : "srgb";
  const data = await sharp(path).toColourspace(colourspace).raw().toBuffer();
  return { format, width, height, channels, pixels: new Uint8Array(data) };
}

test("exportCocoSplit() writes PNGs, masks and COCO annotations that match the samples", async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), "camscope-coco-"));
  t.after(() => rm(outDir, { recursive: true, force: true }));
  const options = { seed: 5, split: "val", start: 10, count: 12, size: 96, twoObjectShare: 0.5 };
  const progress: number[] = [];
  const summary = await exportCocoSplit({
    ...options,
    outDir,
    onProgress: (done) => progress.push(done),
  });
  const samples = [...generateSplit(options)];

  assert.equal(summary.hash, datasetHash(samples));
  assert.equal(summary.images, 12);
  assert.deepEqual(
    progress,
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  const dataset = JSON.parse(
    await readFile(join(outDir, "annotations.json"), "utf8"),
  ) as CocoDataset;
  assert.equal(dataset.info["hash"], summary.hash);
  assert.deepEqual(
    dataset.categories,
    SYNTHETIC_CLASSES.map((name, id) => ({ id, name })),
  );
  assert.equal(dataset.annotations.length, summary.annotations);
  assert.equal(new Set(dataset.annotations.map((a) => a.id)).size, dataset.annotations.length);
  assert.ok(dataset.annotations.every((a) => a.id >= 1));
  assert.ok(samples.some((sample) => sample.objects.length === 2));

  for (const sample of samples) {
    const image = dataset.images.find((entry) => entry.id === sample.index)!;
    assert.deepEqual(image, {
      id: sample.index,
      file_name: `images/${sample.index}.png`,
      width: 96,
      height: 96,
      labels: sample.objects.map((o) => o.category),
    });
    const png = await decode(join(outDir, image.file_name));
    assert.deepEqual([png.format, png.width, png.height, png.channels], ["png", 96, 96, 3]);
    assert.deepEqual(png.pixels, sample.rgb);

    const annotations = dataset.annotations.filter((a) => a.image_id === sample.index);
    assert.equal(annotations.length, sample.objects.length);
    for (const [k, object] of sample.objects.entries()) {
      const annotation = annotations[k]!;
      assert.equal(annotation.category_id, object.category);
      assert.deepEqual(annotation.bbox, object.bbox);
      assert.equal(annotation.iscrowd, 0);
      assert.equal(
        annotation.area,
        object.mask.reduce((sum, bit) => sum + bit, 0),
      );
      assert.deepEqual(annotation.segmentation.size, [96, 96]);
      assert.deepEqual(decodeRle(annotation.segmentation), object.mask);
      const mask = await decode(join(outDir, "masks", `${sample.index}_${k}.png`));
      assert.deepEqual([mask.format, mask.width, mask.height, mask.channels], ["png", 96, 96, 1]);
      assert.deepEqual(
        mask.pixels,
        object.mask.map((bit) => bit * 255),
      );
    }
  }
  assert.equal((await readdir(join(outDir, "images"))).length, 12);
  assert.equal((await readdir(join(outDir, "masks"))).length, summary.annotations);
});
