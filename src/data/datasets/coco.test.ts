import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { loadDataset } from "../dataset.ts";
import { encodeRle } from "../synthetic/rle.ts";
import { tempDir, writeImage, writeText } from "../testing/files.ts";

const SAMPLES = new URL("../../../samples/", import.meta.url).pathname;

/** A row-major 0/1 mask with the listed [x, y] pixels set. */
function maskOf(width: number, height: number, pixels: [number, number][]): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const [x, y] of pixels) mask[y * width + x] = 1;
  return mask;
}

describe("COCO instances", () => {
  let dir = "";
  let cleanup = async () => {};
  // A 1x2 object at (4, 3) as RLE, in an 8 x 6 image.
  const rleMask = maskOf(8, 6, [
    [4, 3],
    [4, 4],
  ]);
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeImage(join(dir, "img", "one.png"), 8, 6);
    await writeImage(join(dir, "img", "far.png"), 8, 6);
    await writeImage(join(dir, "img", "empty.png"), 8, 6);
    const image = (id: number, file: string) => ({ id, file_name: file, width: 8, height: 6 });
    const json = {
      images: [
        image(1, "img/one.png"),
        image(2, "img/gone.png"),
        image(3, "img/far.png"),
        image(4, "img/empty.png"),
      ],
      categories: [
        { id: 18, name: "dog" },
        { id: 3, name: "car" },
        { id: 5, name: "kite" },
      ],
      annotations: [
        // A square polygon covering pixel centres x 1..3, y 1..2, and a triangle.
        {
          id: 1,
          image_id: 1,
          category_id: 18,
          bbox: [1, 1, 3, 2],
          segmentation: [[1, 1, 4, 1, 4, 3, 1, 3]],
        },
        {
          id: 2,
          image_id: 1,
          category_id: 3,
          bbox: [4.2, 3, 0.5, 2],
          segmentation: encodeRle(rleMask, 8, 6),
        },
        {
          id: 3,
          image_id: 1,
          category_id: 18,
          bbox: [6, 0, 2, 6],
          segmentation: [[6, 0, 8, 0, 6, 2]],
        },
        { id: 4, image_id: 2, category_id: 18, bbox: [0, 0, 2, 2] },
        { id: 5, image_id: 3, category_id: 18, bbox: [5, 0, 5, 2] },
        { id: 6, image_id: 9, category_id: 18, bbox: [0, 0, 2, 2] },
        {
          id: 7,
          image_id: 1,
          category_id: 5,
          bbox: [0, 0, 1, 1],
          segmentation: { counts: "abc", size: [6, 8] },
        },
      ],
    };
    await writeText(join(dir, "instances.json"), JSON.stringify(json));
  });
  after(() => cleanup());

  it("makes one record per image and category with boxes and the union mask", async () => {
    const data = await loadDataset(join(dir, "instances.json"), { labels: ["car", "dog", "kite"] });
    assert.equal(data.format, "coco");
    assert.equal(data.name, "instances");
    assert.deepEqual(
      data.records.map((r) => ({ id: r.id, label: r.label, boxes: r.boxes })),
      [
        {
          id: "1:18",
          label: 1,
          boxes: [
            { x0: 1, y0: 1, x1: 4, y1: 3 },
            { x0: 6, y0: 0, x1: 8, y1: 6 },
          ],
        },
        { id: "1:3", label: 0, boxes: [{ x0: 4, y0: 3, x1: 5, y1: 5 }] },
      ],
    );
    // Polygon: centres (x + 0.5, y + 0.5) inside [1, 4] x [1, 3]. Triangle (6,0)-(8,0)-(6,2),
    // hypotenuse x + y = 8, centres in [6, 8 - y): only (6.5, 0.5); (6.5, 1.5) lies on the edge,
    // which the half-open span leaves out.
    const dog = await data.records[0]!.mask!(8, 6);
    const expected = maskOf(8, 6, [
      [1, 1],
      [2, 1],
      [3, 1],
      [1, 2],
      [2, 2],
      [3, 2],
      [6, 0],
    ]);
    assert.deepEqual(dog, expected);
    assert.deepEqual(await data.records[1]!.mask!(8, 6), rleMask);
    await assert.rejects(data.records[1]!.mask!(4, 3), /annotated at 8x6, asked for 4x3/);
    assert.deepEqual(
      data.problems.map((p) => [p.id, p.reason]),
      [
        ["annotation 6", "refers to image id 9, which is not listed"],
        ["1:5", "annotation 7: compressed RLE segmentation is not supported"],
        ["4", "image has no annotations"],
        ["2:18", "file not found"],
        ["3:18", "box [5, 0, 10, 2) lies outside the 8x6 image or is empty"],
      ],
    );
  });

  it("needs labels to name classes; without them records have no label", async () => {
    const data = await loadDataset(dir, { format: "coco" }).catch((e: Error) => e);
    assert.ok(data instanceof Error && /not a COCO \.json file/.test(data.message));
    const unlabelled = await loadDataset(join(dir, "instances.json"));
    assert.deepEqual(
      unlabelled.records.map((r) => r.label),
      [undefined, undefined],
    );
  });
});

describe("the bundled synthetic samples", () => {
  it("load as synthetic: category ids are labels, masks match samples/masks", async () => {
    const data = await loadDataset(SAMPLES);
    assert.equal(data.format, "synthetic");
    assert.equal(data.name, "samples");
    assert.deepEqual(data.problems, []);
    assert.deepEqual(
      data.records.map((r) => [r.id, r.label]),
      [["9:3"], ["15:9"], ["3:5"], ["4:7"], ["16:4"], ["1:7"], ["1:1"]].map(([id]) => [
        id,
        Number(id!.split(":")[1]),
      ]),
    );
    assert.deepEqual(data.records[0]!.boxes, [{ x0: 57, y0: 27, x1: 104, y1: 76 }]);
    // samples/masks/<name>.png holds all objects of an image as 0/255, written from the
    // generator's masks: the union of an image's records' masks must equal it.
    const union = new Map<string, Uint8Array>();
    for (const record of data.records) {
      const mask = await record.mask!(128, 128);
      const name = record.file.slice(SAMPLES.length);
      const held = union.get(name) ?? new Uint8Array(128 * 128);
      mask.forEach((bit, i) => (held[i]! |= bit));
      union.set(name, held);
    }
    assert.equal(union.size, 6);
    for (const [name, mask] of union) {
      const png = await sharp(join(SAMPLES, "masks", name))
        .extractChannel(0)
        .raw()
        .toBuffer();
      assert.deepEqual(
        mask,
        Uint8Array.from(png, (v) => (v > 127 ? 1 : 0)),
        name,
      );
    }
  });

  it("with the model's labels, maps category names", async () => {
    const labels = ["x", "star", "y", "square", "heart"];
    const data = await loadDataset(SAMPLES, { labels, format: "synthetic" });
    assert.deepEqual(
      data.records.map((r) => [r.id, r.label]),
      [
        ["9:3", 1],
        ["4:7", 4],
        ["1:7", 4],
        ["1:1", 3],
      ],
    );
    assert.equal(data.problems.length, 3);
  });
});
