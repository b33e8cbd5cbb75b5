// The float16 encoding of the upgrade's constants, against NumPy's float32 -> float16 casts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { halfBits } from "./opset-context.ts";

test("halfBits rounds float32 values to IEEE half bits as NumPy does", () => {
  const cases: [number, number][] = [
    [0.5, 0x3800],
    [1 / 3, 0x3555],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519, 0x7bff], // rounds down to the largest half
    [65520, 0x7c00], // rounds up to infinity
    [1e-7, 0x0002], // subnormal
    [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even (zero)
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal steps: ties to even
    [6.1e-5, 0x03ff], // largest subnormal
    [1e10, 0x7c00],
    [Number.NaN, 0x7e00],
    [-Infinity, 0xfc00],
    [0.1, 0x2e66],
    [2049, 0x6800], // halfway: ties to even
    [2051, 0x6802], // halfway: ties to even (up)
  ];
  for (const [value, bits] of cases) {
    assert.equal(halfBits(value), bits, `${value}: ${halfBits(value).toString(16)}`);
  }
});
