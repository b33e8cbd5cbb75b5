import assert from "node:assert/strict";
import { test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { commaList, imageDirNames, parseTargetClasses, slug } from "./explain-args.ts";

const labels = ["circle", "square", "star", "big, red"];

test("commaList trims, drops empty items and duplicates", () => {
  assert.deepEqual(commaList(" gradcam, cam,,gradcam ", "--method"), ["gradcam", "cam"]);
  assert.throws(() => commaList(" , ", "--method"), /--method is empty/);
});

test("--target takes top1, one class for all images, or one per image", () => {
  assert.equal(parseTargetClasses("top1", labels, 3), "top1");
  assert.equal(parseTargetClasses("star", labels, 3), 2);
  assert.equal(parseTargetClasses("STAR", labels, 3), 2);
  assert.equal(parseTargetClasses("3", labels, 3), 3);
  assert.equal(parseTargetClasses("big, red", labels, 3), 3);
  assert.deepEqual(parseTargetClasses("star,0, square", labels, 3), [2, 0, 1]);
});

test("--target mistakes are user errors that say what is wrong", () => {
  assert.throws(
    () => parseTargetClasses("7", labels, 3),
    /^CamscopeError: --target class 7 is out of range: the model's classes are 0 to 3$/,
  );
  assert.throws(
    () => parseTargetClasses("star,circle", labels, 3),
    (e: unknown) =>
      e instanceof CamscopeError &&
      /2 classes for 3 images; give one class, or one per image/.test(e.message),
  );
  assert.throws(
    () => parseTargetClasses("hexagon", labels, 1),
    (e: unknown) =>
      e instanceof CamscopeError &&
      e.message ===
        'Unknown class "hexagon" in --target: not a class name or index of the model (4 classes: circle, square, star, big, red)',
  );
});

test("output folders are named after the images and never collide", () => {
  assert.deepEqual(
    imageDirNames(
      ["a/star.png", "b/star.png", "star-2.jpg", "c/star.webp", "my photo.jpg", "maps.json.png"],
      ["maps.json"],
    ),
    ["star", "star-2", "star-2-2", "star-3", "my_photo", "maps.json-2"],
  );
  assert.equal(slug("../.."), "_");
  assert.equal(slug("Granny Smith/apple"), "Granny_Smith_apple");
});
