// The files the fuzz cases feed camscope, made once per session in a temp folder: a tiny
// 10-class model with the bundled models' labels (fast enough for hundreds of runs), models that
// are broken in assorted ways or produce NaN / Inf, broken and odd images, and special files
// (FIFOs, folders, sparse files past the size limits). Everything is generated: no binary is
// committed, and the same seed gives the same bytes.
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { buildModel } from "../compiler/testing/graph.ts";
import { makeAttr } from "../onnx/attributes.ts";
import { OnnxModel } from "../onnx/model.ts";
import { DataType, type TensorProto } from "../onnx/proto.ts";
import { floatTensor } from "../onnx/tensor.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { createRng } from "../util/random.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SAMPLES = join(ROOT, "samples");
export const BIN = join(ROOT, "bin", "camscope.js");

/** Past the model file size limit (2 GiB) and the image limit (256 MiB); sparse, so free. */
const BIG_MODEL = 2.5 * 2 ** 30;
const BIG_IMAGE = 300 * 2 ** 20;

export interface Fixtures {
  dir: string;
  /** The 10-class 16x16 model with the bundled labels (sibling card), for fast runs. */
  tiny: string;
  labels: string[];
  /** Models by name: broken files and graphs, and ones whose outputs go NaN or infinite. */
  models: Record<string, string>;
  /** Images by name: good, odd (valid but unusual) and broken ones. */
  images: Record<string, string>;
  /** A FIFO, a folder and a big sparse file, for options that take a file. */
  special: { fifo: string; folder: string; sparse: string; file: string };
}

function random(bytes: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: bytes }, () => rng.int(0, 256));
}

function withInitializer(model: OnnxModel, name: string, tensor: TensorProto): OnnxModel {
  const graph = model.proto.graph;
  graph.initializer = graph.initializer.map((t) => (t.name === name ? tensor : t));
  return model;
}

/** The tiny classifier with an extra term in its logits: 0 for images with a bright pixel, NaN
 *  for an image with none (log of a zero maximum times zero). */
function nanWhenDark(): OnnxModel {
  const model = tinyClassifier({ classes: 10 });
  const graph = model.proto.graph;
  const gemm = graph.node.find((n) => n.op_type === "Gemm")!;
  gemm.output = ["gemm"];
  const node = (
    op: string,
    input: string[],
    output: string,
    attribute = [] as ReturnType<typeof makeAttr>[],
  ) => ({
    op_type: op,
    name: `${op}_${output}`,
    input,
    output: [output],
    attribute,
  });
  graph.node.push(
    node("Relu", ["input"], "bright"),
    node("ReduceMax", ["bright"], "peak", [makeAttr("axes", [1, 2, 3]), makeAttr("keepdims", 1)]),
    node("Flatten", ["peak"], "peak_flat"),
    node("Log", ["peak_flat"], "log_peak"),
    node("Mul", ["log_peak", "zero"], "nan_term"),
    node("Add", ["gemm", "nan_term"], "output"),
  );
  graph.initializer.push(floatTensor("zero", [], [0]));
  return model;
}

function serialise(model: OnnxModel): Uint8Array {
  return model.toBytes();
}

/** A graph with problems ONNX Runtime finds when it loads it. */
function brokenGraphs(): Record<string, Uint8Array> {
  const spatial = { name: "x", dims: [3, 16, 16] };
  const ghost = buildModel({
    inputs: [spatial],
    nodes: [{ op: "Relu", inputs: ["ghost"], outputs: ["y"] }],
    outputs: ["y"],
  });
  const opset99 = buildModel({
    inputs: [spatial],
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
    outputs: ["y"],
    opset: 99,
  });
  const twoInputs = buildModel({
    inputs: [spatial, { name: "z", dims: [3, 16, 16] }],
    nodes: [{ op: "Add", inputs: ["x", "z"], outputs: ["y"] }],
    outputs: ["y"],
  });
  const unknownOp = buildModel({
    inputs: [spatial],
    nodes: [{ op: "NoSuchOp", inputs: ["x"], outputs: ["y"] }],
    outputs: ["y"],
  });
  // No 4-D activation but the input: a linear classifier on the flattened image.
  const flat = buildModel({
    inputs: [spatial],
    constants: [
      { name: "w", dims: [10, 768], data: new Float32Array(7680).fill(0.001) },
      { name: "b", dims: [10], data: new Float32Array(10) },
    ],
    nodes: [
      { op: "Flatten", inputs: ["x"], outputs: ["f"] },
      { op: "Gemm", inputs: ["f", "w", "b"], outputs: ["y"], attrs: { transB: 1 } },
    ],
    outputs: ["y"],
  });
  const intInput = buildModel({
    inputs: [spatial],
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
    outputs: ["y"],
  });
  intInput.proto.graph.input[0]!.type!.tensor_type!.elem_type = DataType.INT64;
  return {
    "ghost-input": serialise(ghost),
    "opset-99": serialise(opset99),
    "two-inputs": serialise(twoInputs),
    "unknown-op": serialise(unknownOp),
    "flat-classifier": serialise(flat),
    "int64-input": serialise(intInput),
  };
}

async function png(
  path: string,
  width: number,
  height: number,
  fill: (i: number) => number,
  channels: 1 | 3 | 4 = 3,
): Promise<void> {
  const data = Uint8Array.from({ length: width * height * channels }, (_, i) => fill(i));
  await sharp(data, { raw: { width, height, channels } }).png().toFile(path);
}

/** A PNG whose header claims 100000 x 100000 pixels over a few bytes of data. */
function pngBomb(): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Uint8Array) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, body.length);
    const typed = new Uint8Array([...type].map((c) => c.charCodeAt(0)));
    out.set(typed, 4);
    out.set(body, 8);
    view.setUint32(8 + body.length, crc(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, 100_000);
  view.setUint32(4, 100_000);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk("IEND", new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

export const SAMPLE_IMAGES = ["star", "arrow", "ring", "heart", "cross", "heart-and-square"];

export async function makeFixtures(dir: string): Promise<Fixtures> {
  const labels = (
    JSON.parse(await readFile(join(ROOT, "models", "synth-resnet.json"), "utf8")) as {
      labels: string[];
    }
  ).labels;
  const m = join(dir, "models");
  const i = join(dir, "images");
  const s = join(dir, "special");
  await Promise.all([m, i, s].map((d) => mkdir(d, { recursive: true })));

  const tiny = join(m, "tiny10.onnx");
  await writeFile(tiny, tinyClassifier({ classes: 10 }).toBytes());
  await writeFile(join(m, "tiny10.json"), JSON.stringify({ labels }));

  const models: Record<string, string> = {};
  const model = async (name: string, bytes: Uint8Array | string, withCard = false) => {
    const path = join(m, `${name}.onnx`);
    await writeFile(path, bytes);
    // The tiny classifier's feature layer: nan-when-dark has a later 4-D value (its NaN branch).
    if (withCard)
      await writeFile(
        join(m, `${name}.json`),
        JSON.stringify({ labels, defaultLayer: "features" }),
      );
    models[name] = path;
  };
  const resnet = await readFile(join(ROOT, "models", "synth-resnet.onnx"));
  await model("empty", new Uint8Array(0));
  for (const fraction of [0.1, 0.5, 0.99]) {
    await model(
      `truncated-${fraction * 100}`,
      resnet.subarray(0, Math.floor(resnet.length * fraction)),
    );
  }
  for (const [name, size, seed] of [
    ["random-100", 100, 1],
    ["random-10k", 10_000, 2],
    ["random-1m", 1_000_000, 3],
  ] as const) {
    await model(name, random(size, seed));
  }
  await model("text", "this is not a model\n");
  await model("json", JSON.stringify({ labels }));
  await model("png", await readFile(join(SAMPLES, "star.png")));
  for (const [name, bytes] of Object.entries(brokenGraphs())) await model(name, bytes);
  const nanBias = withInitializer(
    tinyClassifier({ classes: 10 }),
    "fc.bias",
    floatTensor("fc.bias", [10], new Float32Array(10).fill(NaN)),
  );
  await model("nan-logits", nanBias.toBytes(), true);
  const infBias = new Float32Array(10);
  infBias[0] = Infinity;
  await model(
    "inf-logits",
    withInitializer(
      tinyClassifier({ classes: 10 }),
      "fc.bias",
      floatTensor("fc.bias", [10], infBias),
    ).toBytes(),
    true,
  );
  await model("nan-when-dark", nanWhenDark().toBytes(), true);
  models["dir"] = join(m, "dir.onnx");
  await mkdir(models["dir"]);
  models["fifo"] = join(m, "fifo.onnx");
  execFileSync("mkfifo", [models["fifo"]]);
  models["sparse-2.5g"] = join(m, "sparse.onnx");
  await writeFile(models["sparse-2.5g"], "");
  await truncate(models["sparse-2.5g"], BIG_MODEL);
  models["dev-zero"] = "/dev/zero";
  models["dev-null"] = "/dev/null";
  models["missing"] = join(m, "missing.onnx");

  const images: Record<string, string> = {};
  for (const name of SAMPLE_IMAGES) images[name] = join(SAMPLES, `${name}.png`);
  const image = async (name: string, bytes: Uint8Array | string) => {
    const path = join(i, name);
    await writeFile(path, bytes);
    images[name] = path;
  };
  const star = await readFile(join(SAMPLES, "star.png"));
  const starJpeg = await sharp(star).jpeg().toBuffer();
  await image("star.jpg", starJpeg);
  await image("star-png-named.jpg", star);
  await image("star.webp", await sharp(star).webp().toBuffer());
  await image("cmyk.jpg", await sharp(star).toColourspace("cmyk").jpeg().toBuffer());
  await image("star16.png", await sharp(star).toColourspace("rgb16").png().toBuffer());
  await image("star.gif", await sharp(star).gif().toBuffer());
  await image("star.tiff", await sharp(star).tiff().toBuffer());
  await image("empty.png", new Uint8Array(0));
  await image("text.png", "not an image\n");
  await image("random.png", random(5000, 4));
  await image("truncated.png", star.subarray(0, Math.floor(star.length / 2)));
  await image("truncated.jpg", starJpeg.subarray(0, Math.floor(starJpeg.length / 2)));
  await image("header-only.png", star.subarray(0, 33));
  await image("bomb.png", pngBomb());
  await image(
    "svg.png",
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
  );
  for (const [name, w, h, fill, channels] of [
    ["black.png", 32, 32, () => 0, 3],
    ["white.png", 32, 32, () => 255, 3],
    ["one-pixel.png", 1, 1, () => 200, 3],
    ["wide.png", 2000, 1, (k: number) => k % 256, 3],
    ["tall.png", 1, 2000, (k: number) => k % 256, 3],
    ["gray.png", 40, 30, (k: number) => (k * 7) % 256, 1],
    ["rgba.png", 40, 30, (k: number) => (k * 13) % 256, 4],
  ] as const) {
    const path = join(i, name);
    await png(path, w, h, fill, channels);
    images[name] = path;
  }
  images["dir.png"] = join(i, "dir.png");
  await mkdir(images["dir.png"]);
  images["fifo.png"] = join(i, "fifo.png");
  execFileSync("mkfifo", [images["fifo.png"]]);
  images["sparse-300m.png"] = join(i, "sparse.png");
  await writeFile(images["sparse-300m.png"], "");
  await truncate(images["sparse-300m.png"], BIG_IMAGE);
  images["dev-zero"] = "/dev/zero";
  images["dev-null"] = "/dev/null";
  images["missing.png"] = join(i, "missing.png");

  const special = {
    fifo: join(s, "fifo.npy"),
    folder: join(s, "folder"),
    sparse: join(s, "sparse.npy"),
    file: join(s, "plain-file"),
  };
  execFileSync("mkfifo", [special.fifo]);
  await mkdir(special.folder);
  await writeFile(special.sparse, "");
  await truncate(special.sparse, BIG_IMAGE);
  await writeFile(special.file, "a plain file\n");
  await writeRunDataset(join(dir, "dataset"), RUN_DATASET_COPIES);
  return { dir, tiny, labels, models, images, special };
}

/** Copies of the samples in the concurrent-writer and kill -9 runs' dataset (28 records). */
export const RUN_DATASET_COPIES = 4;

/**
 * The samples `copies` times over (images star-0.png, star-1.png, ...; image ids offset by 1000
 * per copy), so that an evaluation runs for seconds: long enough for a second writer to start
 * while the first writes, and for kills to land mid-run.
 */
async function writeRunDataset(dir: string, copies: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const json = JSON.parse(await readFile(join(SAMPLES, "annotations.json"), "utf8")) as {
    images: { id: number; file_name: string }[];
    annotations: { id: number; image_id: number }[];
  };
  const images = [];
  const annotations = [];
  for (let k = 0; k < copies; k++) {
    for (const image of json.images) {
      const name = image.file_name.replace(/\.png$/, `-${k}.png`);
      await copyFile(join(SAMPLES, image.file_name), join(dir, name));
      images.push({ ...image, id: image.id + 1000 * k, file_name: name });
    }
    for (const a of json.annotations) {
      annotations.push({ ...a, id: a.id + 1000 * k, image_id: a.image_id + 1000 * k });
    }
  }
  await writeFile(join(dir, "annotations.json"), JSON.stringify({ ...json, images, annotations }));
}

/** Copies the bundled sample dataset (images and annotations.json) into `dir`. */
export async function copySampleDataset(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const name of SAMPLE_IMAGES)
    await copyFile(join(SAMPLES, `${name}.png`), join(dir, `${name}.png`));
  await copyFile(join(SAMPLES, "annotations.json"), join(dir, "annotations.json"));
  return join(dir, "annotations.json");
}
