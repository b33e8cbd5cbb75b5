import assert from "node:assert/strict";
import { test } from "node:test";
import { CamscopeError } from "../errors.ts";
import {
  checkChoice,
  checkFloatTensor,
  checkInteger,
  checkNames,
  checkNumber,
} from "./validate.ts";

const invalid = (message: string) => (error: unknown) =>
  error instanceof CamscopeError && error.code === "INVALID_ARGUMENT" && error.message === message;

test("numbers out of range or of the wrong type name the option, the range and the value", () => {
  assert.equal(checkInteger(3, "steps", { min: 1, max: 5 }), 3);
  assert.throws(
    () => checkInteger(0, "steps", { min: 1, max: 5 }),
    invalid("steps must be an integer from 1 to 5, got 0"),
  );
  assert.throws(
    () => checkInteger(1.5, "batchSize", { min: 1 }),
    invalid("batchSize must be an integer, at least 1, got 1.5"),
  );
  assert.throws(
    () => checkInteger("4", "batchSize", { min: 1 }),
    invalid('batchSize must be an integer, at least 1, got "4"'),
  );
  assert.throws(
    () => checkInteger(NaN, "seed", { min: 0 }),
    invalid("seed must be an integer, at least 0, got NaN"),
  );
  assert.throws(
    () => checkNumber(0, "RISE probability", { min: 0, max: 1, minExclusive: true }),
    invalid("RISE probability must be a number above 0 and at most 1, got 0"),
  );
  assert.throws(
    () => checkNumber(Infinity, "noise", { min: 0, max: 100 }),
    invalid("noise must be a number from 0 to 100, got Infinity"),
  );
  assert.throws(
    () => checkChoice("bogus", "score", ["logit", "probability"]),
    invalid('score must be one of: logit, probability; got "bogus"'),
  );
  assert.throws(
    () => checkNames("gradcam", "CAM method names"),
    invalid('CAM method names must be an array of names, got "gradcam"'),
  );
});

test("tensors must be float32 with dims that hold exactly their values", () => {
  const t = { data: new Float32Array(6), dims: [1, 2, 3] };
  assert.equal(checkFloatTensor(t, "images"), t);
  assert.throws(
    () => checkFloatTensor({ data: new Uint8Array(6), dims: [6] }, "images"),
    invalid(
      "images must be a tensor { data: Float32Array, dims: number[] }, got data a Uint8Array",
    ),
  );
  assert.throws(
    () => checkFloatTensor({ data: new Float32Array(5), dims: [1, 2, 3] }, "images"),
    invalid("images dims [1, 2, 3] hold 6 values, but its data has 5"),
  );
  assert.throws(
    () => checkFloatTensor(undefined, "images"),
    invalid("images must be a tensor { data: Float32Array, dims: number[] }, got undefined"),
  );
  assert.throws(
    () => checkFloatTensor(t, "images", 4),
    invalid("images must have 4 dims, got [1, 2, 3]"),
  );
});
