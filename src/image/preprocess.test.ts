import assert from "node:assert/strict";
import { test } from "node:test";
import { centerCropOffset, PREPROCESS_PRESETS, preprocess, shorterSideSize } from "./preprocess.ts";
import type { PreprocessSpec } from "./preprocess.ts";
import type { RgbImage } from "./types.ts";

/** torchvision's output for pattern(10, 7) (see below), computed with torchvision 0.14. */
const TORCHVISION_10x7 = [
  0.6049319505691528, 1.324171543121338, -0.028684020042419434, -0.7479236125946045,
  -0.011559266597032547, 0.46793392300605774, -0.028684020042419434, 0.21106265485286713,
  0.31381115317344666, 0.6734309792518616, 0.348060667514801, -0.5081771016120911,
  0.07406462728977203, 0.7248052358627319, 0.365185409784317, 0.45080918073654175,
  0.7590547204017639, -0.0629335269331932, -0.14855729043483734, 0.6905557513237,
  0.5021834373474121, -0.18280678987503052, 0.1083141341805458, 0.6049319505691528,
  -0.6451750993728638, 0.1083141341805458, 0.7590547204017639, 0.14256364107131958,
  -0.4910523295402527, 0.14256364107131958, -0.26843056082725525, 1.1700488328933716,
  0.6905557513237, 0.45080918073654175, 0.21106265485286713, -0.542426586151123, 1.6757702827453613,
  -0.057422954589128494, -0.4600839912891388, 0.29271721839904785, 0.6953782439231873,
  0.9754902720451355, 0.327731192111969, 0.3102242052555084, 0.8004202246665955,
  0.20518219470977783, -0.4075629711151123, 0.5378152132034302, 0.6778712272644043,
  0.06512605398893356, 0.39775919914245605, 0.5378152132034302, -0.3550419807434082,
  -0.7401959896087646, 0.9054622650146484, 0.0476190522313118, -0.6176469922065735,
  -0.10994395613670349, 0.13515405356884003, -0.6701679825782776, 0.39775919914245605,
  0.2226891964673996, -0.5826330184936523, -0.33753496408462524, 0.5553222298622131,
  0.2226891964673996, 0.7829132676124573, -0.23249296844005585, -0.21498596668243408,
  1.0980392694473267, 0.9229692220687866, -0.057422954589128494, 0.008191797882318497,
  -0.07895416766405106, 0.6879304647445679, 1.019085168838501, 1.350239872932434,
  0.9493683576583862, 0.4090632498264313, 1.019085168838501, 0.13019615411758423,
  -0.183529332280159, 0.7402180433273315, 1.2282354831695557, -0.11381255835294724,
  0.4264925718307495, 0.3916340470314026, 0.7053596377372742, 0.7925056219100952,
  0.4090632498264313, -0.3229628801345825, 0.3916340470314026, 0.5310677289962769,
  1.0365142822265625, 1.2805230617523193, 0.4787801504135132, 0.8447932004928589,
  1.3676689863204956, 0.5659261345863342, 0.11276695877313614, 0.8796516060829163,
  1.3676689863204956, 1.9254032373428345, 0.9145100116729736, 0.9319391846656799,
  0.4264925718307495, -0.061524976044893265, 1.0888018608093262,
];

function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        data[(y * width + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + x * y * 13) % 256;
      }
    }
  }
  return { width, height, data };
}

/** A 2x1 image: left pixel (10, 20, 30), right pixel (40, 50, 60). */
const TWO_PIXELS: RgbImage = {
  width: 2,
  height: 1,
  data: Uint8Array.from([10, 20, 30, 40, 50, 60]),
};
const RAW: PreprocessSpec = { size: [1, 2], resize: "none", scale: 1 };

test("shorter side goes to the target and the longer side is truncated, as torchvision", () => {
  assert.deepEqual(shorterSideSize(500, 375, 256), [341, 256]); // 256 * 500 / 375 = 341.33
  assert.deepEqual(shorterSideSize(375, 500, 256), [256, 341]);
  assert.deepEqual(shorterSideSize(300, 300, 256), [256, 256]);
  assert.deepEqual(shorterSideSize(100, 299, 256), [256, 765]); // 765.44
});

test("center-crop offsets round half to even, and oversize crops pad", () => {
  assert.equal(centerCropOffset(256, 224), 16);
  assert.equal(centerCropOffset(341, 224), 58); // 58.5 -> 58
  assert.equal(centerCropOffset(343, 224), 60); // 59.5 -> 60
  assert.equal(centerCropOffset(224, 224), 0);
  assert.equal(centerCropOffset(200, 224), -12); // 12 px of padding on the left
  assert.equal(centerCropOffset(201, 224), -11); // 23 px: 11 left, 12 right
});

test("mean/std normalisation of known pixels", () => {
  const { tensor } = preprocess([TWO_PIXELS], {
    ...RAW,
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
  const expected = [
    (10 / 255 - 0.485) / 0.229,
    (40 / 255 - 0.485) / 0.229,
    (20 / 255 - 0.456) / 0.224,
    (50 / 255 - 0.456) / 0.224,
    (30 / 255 - 0.406) / 0.225,
    (60 / 255 - 0.406) / 0.225,
  ];
  tensor.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${i}: ${v}`));
});

test("values are rounded like float32 torch: x/255, then - mean, then / std", () => {
  const image: RgbImage = { width: 256, height: 1, data: new Uint8Array(256 * 3) };
  for (let v = 0; v < 256; v++) image.data.fill(v, v * 3, v * 3 + 3);
  const { tensor } = preprocess([image], {
    size: [1, 256],
    resize: "none",
    mean: [0.5, 0.25, 0.1],
    std: [0.3, 0.7, 0.9],
  });
  const f = Math.fround;
  for (let v = 0; v < 256; v++) {
    const x = f(v / 255); // float32 division, as ToTensor
    assert.equal(tensor[v], f(f(x - f(0.5)) / f(0.3)));
    assert.equal(tensor[512 + v], f(f(x - f(0.1)) / f(0.9)));
  }
});

test("NCHW puts each channel in its own plane; NHWC interleaves them", () => {
  const nchw = preprocess([TWO_PIXELS], { ...RAW, layout: "NCHW" });
  assert.deepEqual(nchw.dims, [1, 3, 1, 2]);
  assert.deepEqual([...nchw.tensor], [10, 40, 20, 50, 30, 60]);
  const nhwc = preprocess([TWO_PIXELS], { ...RAW, layout: "NHWC" });
  assert.deepEqual(nhwc.dims, [1, 1, 2, 3]);
  assert.deepEqual([...nhwc.tensor], [10, 20, 30, 40, 50, 60]);
});

test("BGR reverses the channels and applies mean/std in tensor (BGR) order", () => {
  const bgr = preprocess([TWO_PIXELS], {
    ...RAW,
    layout: "NHWC",
    channelOrder: "BGR",
    mean: [1, 2, 3],
  });
  assert.deepEqual([...bgr.tensor], [30 - 1, 20 - 2, 10 - 3, 60 - 1, 50 - 2, 40 - 3]);
  const planar = preprocess([TWO_PIXELS], { ...RAW, channelOrder: "BGR" });
  assert.deepEqual([...planar.tensor], [30, 60, 20, 50, 10, 40]);
});

test("a batch is one contiguous tensor with images in order", () => {
  const other: RgbImage = { width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  const { tensor, dims, transforms } = preprocess([TWO_PIXELS, other], RAW);
  assert.deepEqual(dims, [2, 3, 1, 2]);
  assert.deepEqual([...tensor], [10, 40, 20, 50, 30, 60, 1, 4, 2, 5, 3, 6]);
  assert.equal(transforms.length, 2);
});

test("the imagenet preset resizes the shorter side to 256 and crops the centre 224", () => {
  const { dims, transforms, tensor } = preprocess([pattern(500, 375)], "imagenet");
  assert.deepEqual(dims, [1, 3, 224, 224]);
  assert.equal(tensor.length, 3 * 224 * 224);
  assert.deepEqual(transforms[0], {
    originalWidth: 500,
    originalHeight: 375,
    resizedWidth: 341,
    resizedHeight: 256,
    cropLeft: 58,
    cropTop: 16,
    inputWidth: 224,
    inputHeight: 224,
  });
});

test("unit and signed presets scale to [0, 1] and [-1, 1]", () => {
  const white: RgbImage = {
    width: 224,
    height: 224,
    data: new Uint8Array(224 * 224 * 3).fill(255),
  };
  const black: RgbImage = { width: 224, height: 224, data: new Uint8Array(224 * 224 * 3) };
  const unit = preprocess([black, white], "unit").tensor;
  assert.equal(unit[0], 0);
  assert.equal(unit[unit.length - 1], 1);
  const signed = preprocess([black, white], "signed").tensor;
  assert.equal(signed[0], -1);
  assert.equal(signed[signed.length - 1], 1);
});

test("matches torchvision Resize(8) + CenterCrop(6) + ToTensor + Normalize bit for bit", () => {
  const { tensor, transforms } = preprocess([pattern(10, 7)], {
    ...PREPROCESS_PRESETS.imagenet,
    size: [6, 6],
    resizeTo: 8,
  });
  assert.deepEqual(transforms[0], {
    originalWidth: 10,
    originalHeight: 7,
    resizedWidth: 11,
    resizedHeight: 8,
    cropLeft: 2, // (11 - 6) / 2 = 2.5 rounds to 2
    cropTop: 1,
    inputWidth: 6,
    inputHeight: 6,
  });
  assert.deepEqual([...tensor], TORCHVISION_10x7.map(Math.fround));
});

test("stretch resizes straight to the input size", () => {
  const { transforms } = preprocess([pattern(30, 10)], { size: [8, 16], resize: "stretch" });
  assert.deepEqual(transforms[0], {
    originalWidth: 30,
    originalHeight: 10,
    resizedWidth: 16,
    resizedHeight: 8,
    cropLeft: 0,
    cropTop: 0,
    inputWidth: 16,
    inputHeight: 8,
  });
});

test("a crop larger than the resized image is padded with black", () => {
  // 4x2 image, shorter side to 2 (no change), crop 2x4: two rows of padding above and below.
  const image: RgbImage = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).fill(255) };
  const { tensor, transforms } = preprocess([image], {
    size: [4, 2],
    resize: "shorter-crop",
    resizeTo: 2,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  });
  assert.equal(transforms[0]!.cropTop, -1);
  assert.equal(transforms[0]!.cropLeft, 1);
  // Red plane, rows 0..3 of width 2: padding (-1) / image (1) / image / padding.
  assert.deepEqual([...tensor.subarray(0, 8)], [-1, -1, 1, 1, 1, 1, -1, -1]);
});

test("bad specs and sizes are rejected with clear messages", () => {
  assert.throws(
    () => preprocess([TWO_PIXELS], { ...RAW, size: [2, 2] }),
    /is 2x1 but resize "none" needs exactly 2x2/,
  );
  assert.throws(
    () => preprocess([TWO_PIXELS], "nope" as "unit"),
    /Unknown preprocessing preset "nope" \(valid: imagenet, torch, caffe, tf, unit, signed\)/,
  );
  assert.throws(
    () => preprocess([TWO_PIXELS], "toString" as "unit"),
    /Unknown preprocessing preset "toString"/,
  );
  assert.throws(
    () => preprocess([TWO_PIXELS], { ...RAW, std: [1, 0, 1] }),
    /std values must be finite and non-zero/,
  );
  assert.throws(() => preprocess([TWO_PIXELS], { ...RAW, size: [0, 2] }), /positive integers/);
  assert.throws(
    () => preprocess([{ width: 2, height: 2, data: new Uint8Array(3) }], RAW),
    /needs 12 bytes, got 3/,
  );
});

test("the default resizeTo follows the 0.875 crop fraction", () => {
  const { transforms } = preprocess([pattern(400, 300)], {
    size: [299, 299],
    resize: "shorter-crop",
  });
  assert.equal(transforms[0]!.resizedHeight, 341);
});
