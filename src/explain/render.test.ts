import assert from "node:assert/strict";
import { test } from "node:test";
import { formatValue } from "./render.ts";

test("formatValue: three significant digits, exponents for the very small and large", () => {
  assert.equal(formatValue(0), "0");
  assert.equal(formatValue(3), "3");
  assert.equal(formatValue(0.5), "0.5");
  assert.equal(formatValue(0.092461), "0.0925");
  assert.equal(formatValue(-0.0014493), "-1.45e-3");
  assert.equal(formatValue(1234.5), "1230");
  assert.equal(formatValue(123456), "1.23e+5");
});
