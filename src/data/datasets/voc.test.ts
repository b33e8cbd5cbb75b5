import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadDataset } from "../dataset.ts";
import { tempDir, writeImage, writeText } from "../testing/files.ts";
import { parseVocXml } from "./voc.ts";

function xml(filename: string, size: [number, number], objects: [string, number[]][]): string {
  const body = objects
    .map(
      ([name, [xmin, ymin, xmax, ymax]]) =>
        `<object><name>${name}</name><difficult>0</difficult>` +
        `<bndbox><xmin>${xmin}</xmin><ymin>${ymin}</ymin><xmax>${xmax}</xmax><ymax>${ymax}</ymax></bndbox></object>`,
    )
    .join("\n");
  return `<annotation><folder>VOC</folder><filename>${filename}</filename>
<size><width>${size[0]}</width><height>${size[1]}</height><depth>3</depth></size>
${body}</annotation>`;
}

describe("PASCAL VOC", () => {
  let dir = "";
  let cleanup = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const ann = (stem: string, text: string) =>
      writeText(join(dir, "Annotations", `${stem}.xml`), text);
    await writeImage(join(dir, "JPEGImages", "a.png"), 20, 10);
    await ann(
      "a",
      xml(
        "a.png",
        [20, 10],
        [
          ["dog", [1, 1, 20, 10]],
          ["cat", [3, 2, 5, 4]],
          ["dog", [11, 5, 12, 6]],
        ],
      ),
    );
    await ann("b", xml("b.png", [20, 10], [["dog", [1, 1, 4, 4]]]));
    await writeImage(join(dir, "JPEGImages", "c.png"), 20, 10);
    await ann("c", xml("c.png", [20, 10], [["dog", [15, 1, 25, 4]]]));
    await ann("d", xml("a.png", [30, 10], [["cat", [1, 1, 4, 4]]]));
    await ann("e", xml("a.png", [20, 10], [["horse", [1, 1, 4, 4]]]));
    await ann("f", "<annotation><filename>a.png</filename></annotation>");
  });
  after(() => cleanup());

  it("parses names and turns 1-based inclusive boxes into 0-based exclusive ones", () => {
    const parsed = parseVocXml(xml("x.jpg", [7, 9], [["tv &amp; monitor", [1, 2, 7, 9]]]));
    assert.deepEqual(parsed, {
      filename: "x.jpg",
      size: { width: 7, height: 9 },
      objects: [{ name: "tv & monitor", box: { x0: 0, y0: 1, x1: 7, y1: 9 } }],
    });
  });

  it("makes one record per image and class, and reports bad records", async () => {
    const data = await loadDataset(dir, { labels: ["cat", "dog"] });
    assert.equal(data.format, "voc");
    assert.deepEqual(
      data.records.map((r) => ({ id: r.id, label: r.label, boxes: r.boxes })),
      [
        {
          id: "a:dog",
          label: 1,
          boxes: [
            { x0: 0, y0: 0, x1: 20, y1: 10 },
            { x0: 10, y0: 4, x1: 12, y1: 6 },
          ],
        },
        { id: "a:cat", label: 0, boxes: [{ x0: 2, y0: 1, x1: 5, y1: 4 }] },
      ],
    );
    assert.equal(data.records[0]!.file, join(dir, "JPEGImages", "a.png"));
    assert.deepEqual(
      data.problems.map((p) => [p.id, p.reason]),
      [
        ["e:horse", 'class "horse" is not among the model\'s labels'],
        ["f", "annotation lists no objects"],
        ["b:dog", "file not found"],
        ["c:dog", "box [14, 0, 25, 4) lies outside the 20x10 image or is empty"],
        ["d:cat", "annotation says 30x10 but the image is 20x10"],
      ],
    );
  });
});
