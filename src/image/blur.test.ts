import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gaussianBlur } from "./blur.ts";

describe("gaussianBlur", () => {
  const kernel = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 50));
  const total = kernel.reduce((a, b) => a + b, 0);

  it("spreads a delta into the normalised 11 x 11 Gaussian, sigma 5", () => {
    const image = new Float32Array(21 * 21);
    image[10 * 21 + 10] = 1;
    const out = gaussianBlur(image, [1, 21, 21]);
    for (let y = 0; y < 21; y++) {
      for (let x = 0; x < 21; x++) {
        const inside = Math.abs(y - 10) <= 5 && Math.abs(x - 10) <= 5;
        const expected = inside ? (kernel[y - 5]! * kernel[x - 5]!) / (total * total) : 0;
        assert.ok(Math.abs(out[y * 21 + x]! - expected) < 1e-7);
      }
    }
  });

  it("pads with zeros, channel by channel", () => {
    const image = new Float32Array(2 * 12 * 12).fill(1).fill(3, 144);
    const out = gaussianBlur(image, [2, 12, 12]);
    const corner = (kernel.slice(5).reduce((a, b) => a + b, 0) / total) ** 2;
    assert.ok(Math.abs(out[0]! - corner) < 1e-6);
    assert.ok(Math.abs(out[144]! - 3 * corner) < 1e-6);
  });
});
