import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CamscopeError } from "../errors.ts";
import { detectFormat, loadDataset, type DatasetFormat } from "./dataset.ts";
import { tempDir, writeImage, writeText } from "./testing/files.ts";

const isCamscopeError = (pattern: RegExp) => (err: unknown) =>
  err instanceof CamscopeError && pattern.test(err.message);

describe("loadDataset", () => {
  it("detects each format from the path's contents", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeImage(join(dir, "folders", "cat", "a.png"), 2, 2);
      await writeText(join(dir, "voc", "Annotations", "a.xml"), "<annotation/>");
      const coco = { images: [], annotations: [], categories: [] };
      await writeText(join(dir, "coco", "annotations.json"), JSON.stringify(coco));
      await writeText(join(dir, "val.json"), JSON.stringify(coco));
      const synthetic = {
        ...coco,
        info: { description: "camscope synthetic localization dataset" },
      };
      await writeText(join(dir, "synthetic", "annotations.json"), JSON.stringify(synthetic));
      const expected: [string, DatasetFormat][] = [
        ["folders", "imagenet-folders"],
        ["voc", "voc"],
        ["coco", "coco"],
        ["val.json", "coco"],
        ["synthetic", "synthetic"],
      ];
      for (const [path, format] of expected) {
        assert.equal(await detectFormat(join(dir, path)), format, path);
      }
      const loaded = await loadDataset(join(dir, "val.json"));
      assert.deepEqual(loaded, { name: "val", format: "coco", records: [], problems: [] });
    } finally {
      await cleanup();
    }
  });

  it("names the path and the reason when it cannot load", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await assert.rejects(
        loadDataset(join(dir, "nope")),
        isCamscopeError(/Dataset ".*nope" does not exist/),
      );
      await assert.rejects(loadDataset(dir), isCamscopeError(/Cannot tell the format of dataset/));
      await writeText(join(dir, "bad.json"), "{ not json");
      await assert.rejects(
        loadDataset(join(dir, "bad.json")),
        isCamscopeError(/Cannot read COCO annotations ".*bad\.json"/),
      );
      await writeText(join(dir, "odd.json"), "[]");
      await assert.rejects(
        loadDataset(join(dir, "odd.json")),
        isCamscopeError(/need "images", "annotations" and "categories"/),
      );
      await assert.rejects(
        loadDataset(dir, { format: "voc" }),
        isCamscopeError(/Cannot read voc dataset/),
      );
      await assert.rejects(
        loadDataset(dir, { format: "yolo" as DatasetFormat }),
        isCamscopeError(/Unknown dataset format "yolo"/),
      );
      await assert.rejects(loadDataset(dir, { limit: -1 }), isCamscopeError(/limit/));
    } finally {
      await cleanup();
    }
  });
});
