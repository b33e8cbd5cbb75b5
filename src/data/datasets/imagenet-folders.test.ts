import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadDataset } from "../dataset.ts";
import { tempDir, writeImage, writeText } from "../testing/files.ts";

describe("ImageNet-style folders", () => {
  let dir = "";
  let cleanup = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeImage(join(dir, "star", "b.png"), 6, 4);
    await writeImage(join(dir, "star", "a.png"), 6, 4);
    await writeImage(join(dir, "Hot_Dog", "c.png"), 5, 5);
    await writeText(join(dir, "star", "broken.png"), "not an image");
    await writeImage(join(dir, "zebra", "d.png"), 5, 5);
    await writeImage(join(dir, "stray.png"), 5, 5);
    await writeText(join(dir, "star", ".hidden"), "ignored");
  });
  after(() => cleanup());

  it("labels images by folder name through the model's labels, in sorted order", async () => {
    const data = await loadDataset(dir, { labels: ["circle", "hot dog", "star"] });
    assert.equal(data.format, "imagenet-folders");
    assert.deepEqual(
      data.records.map((r) => [r.id, r.file, r.label]),
      [
        ["Hot_Dog/c.png", join(dir, "Hot_Dog", "c.png"), 1],
        ["star/a.png", join(dir, "star", "a.png"), 2],
        ["star/b.png", join(dir, "star", "b.png"), 2],
      ],
    );
    assert.deepEqual(
      data.problems.map((p) => [p.id, p.reason.split(" (")[0]]),
      [
        ["stray.png", "not inside a class folder"],
        ["zebra/d.png", 'class folder "zebra" is not among the model\'s labels'],
        ["star/broken.png", "unreadable image"],
      ],
    );
  });

  it("without labels keeps every readable image, labelled only by integer folder names", async () => {
    const data = await loadDataset(dir, { format: "imagenet-folders" });
    assert.equal(data.records.length, 4);
    assert.ok(data.records.every((r) => r.label === undefined));
    const numbered = await tempDir();
    try {
      await writeImage(join(numbered.dir, "7", "x.png"), 3, 3);
      const [record] = (await loadDataset(numbered.dir)).records;
      assert.equal(record?.label, 7);
    } finally {
      await numbered.cleanup();
    }
  });

  it("limit takes the first records before checking them", async () => {
    const data = await loadDataset(dir, { labels: ["circle", "hot dog", "star"], limit: 2 });
    assert.deepEqual(
      data.records.map((r) => r.id),
      ["Hot_Dog/c.png", "star/a.png"],
    );
  });
});
