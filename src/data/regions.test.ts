import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inputToOriginal } from "../evaluate/localization.ts";
import { preprocess, type PreprocessSpec } from "../image/preprocess.ts";
import type { InputTransform } from "../image/types.ts";
import { createRng } from "../util/random.ts";
import { regionsInInput } from "./dataset.ts";
import { boxToInput, maskToInput } from "./regions.ts";

/** The transform preprocess gives an image of this size. */
function transformOf(width: number, height: number, spec: PreprocessSpec): InputTransform {
  const image = { width, height, data: new Uint8Array(width * height * 3) };
  return preprocess([image], spec).transforms[0]!;
}

const SPECS: PreprocessSpec[] = [
  { size: [16, 16], resize: "shorter-crop", resizeTo: 20 },
  { size: [12, 20], resize: "stretch" },
  { size: [24, 24], resize: "shorter-crop", resizeTo: 18 }, // crop larger than the image: padding
];

describe("regions in the model-input frame", () => {
  it("a 2x resize with a crop maps a box by pixel centres", () => {
    const t: InputTransform = {
      originalWidth: 10,
      originalHeight: 10,
      resizedWidth: 20,
      resizedHeight: 20,
      cropLeft: 4,
      cropTop: 4,
      inputWidth: 8,
      inputHeight: 8,
    };
    // Input pixel i's centre is original (i + 4.5) / 2: in [3, 5) for i = 2..5.
    assert.deepEqual(boxToInput({ x0: 3, y0: 3, x1: 5, y1: 5 }, t), { x0: 2, y0: 2, x1: 6, y1: 6 });
    assert.equal(boxToInput({ x0: 0, y0: 0, x1: 2, y1: 2 }, t), undefined); // cropped away
  });

  it("agrees with inputToOriginal pixel by pixel for boxes and masks", () => {
    const rng = createRng(5);
    for (const spec of SPECS) {
      for (let trial = 0; trial < 6; trial++) {
        const width = rng.int(5, 40);
        const height = rng.int(5, 40);
        const t = transformOf(width, height, spec);
        const x0 = rng.int(0, width);
        const y0 = rng.int(0, height);
        const box = { x0, y0, x1: rng.int(x0 + 1, width + 1), y1: rng.int(y0 + 1, height + 1) };
        const mask = Uint8Array.from({ length: width * height }, () => (rng.chance(0.4) ? 1 : 0));
        const mapped = boxToInput(box, t);
        const inputMask = maskToInput(mask, t);
        for (let y = 0; y < t.inputHeight; y++) {
          for (let x = 0; x < t.inputWidth; x++) {
            // inputToOriginal clamps padding pixels onto the border; they hold no object.
            const cx = ((x + t.cropLeft + 0.5) * width) / t.resizedWidth;
            const cy = ((y + t.cropTop + 0.5) * height) / t.resizedHeight;
            const padding = cx < 0 || cx >= width || cy < 0 || cy >= height;
            const [ox, oy] = inputToOriginal(x, y, t);
            const inBox = !padding && ox >= box.x0 && ox < box.x1 && oy >= box.y0 && oy < box.y1;
            const inMapped =
              mapped !== undefined &&
              x >= mapped.x0 &&
              x < mapped.x1 &&
              y >= mapped.y0 &&
              y < mapped.y1;
            assert.equal(inMapped, inBox, `box ${JSON.stringify(box)} at ${x},${y}`);
            assert.equal(inputMask[y * t.inputWidth + x], padding ? 0 : mask[oy * width + ox]);
          }
        }
      }
    }
  });

  it("regionsInInput maps boxes and the mask, dropping boxes the crop removed", async () => {
    const t = transformOf(20, 10, { size: [10, 10], resize: "shorter-crop", resizeTo: 10 });
    const mask = new Uint8Array(200).fill(1);
    const record = {
      id: "r",
      file: "/x.png",
      boxes: [
        { x0: 0, y0: 0, x1: 3, y1: 3 },
        { x0: 5, y0: 0, x1: 15, y1: 10 },
      ],
      mask: async () => mask,
    };
    const regions = await regionsInInput(record, { width: 20, height: 10 }, t);
    assert.deepEqual(regions.boxes, [{ x0: 0, y0: 0, x1: 10, y1: 10 }]);
    assert.deepEqual(regions.mask, new Uint8Array(100).fill(1));
    await assert.rejects(regionsInInput(record, { width: 10, height: 10 }, t), /transform starts/);
  });
});
