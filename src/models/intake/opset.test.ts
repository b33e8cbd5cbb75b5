// The opset upgrade on old-opset models (scripts/reference/make_opset_fixtures.py): every upgraded
// model must compute what ONNX Runtime computes on the original (or, for opsets below 7, which
// ONNX Runtime does not run, what a NumPy implementation of the old operator computes), use only
// opset-13 node forms, and match onnx.version_converter's conversion except where that converter
// changes the result (listed below, with why).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine, Tensor, type OrtTensor } from "../../engine/engine.ts";
import { CamscopeError } from "../../errors.ts";
import { elemTypes } from "../../onnx/elem-types.ts";
import { OnnxModel } from "../../onnx/model.ts";
import { withOutputs } from "../../onnx/outputs.ts";
import { makeAttr } from "../../onnx/attributes.ts";
import { DataType, type NodeProto, type TensorProto } from "../../onnx/proto.ts";
import { upgradeOpset } from "./opset.ts";
import { DEPRECATED_AT, OP_VERSIONS } from "./opset-versions.ts";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "opset");

interface Encoded {
  dims: number[];
  type: string;
  data: string;
}

interface Case {
  name: string;
  opset: number;
  description: string;
  /** Whether the upgrade keeps the arithmetic (same kernels), so results must be bit-identical. */
  bitwise: boolean;
  inputs: (Encoded & { name: string })[];
  outputs: string[];
  reference?: Record<string, Encoded>;
  versionConverter: { file: string } | { error: string };
}

interface Schema {
  deprecated: boolean;
  attributes: Record<string, { type: number; required: boolean }>;
  inputs: [number, number];
  outputs: [number, number];
}

const spec = JSON.parse(readFileSync(join(DIR, "cases.json"), "utf8")) as { cases: Case[] };
const schema13 = JSON.parse(readFileSync(join(DIR, "schema-13.json"), "utf8")) as Record<
  string,
  Schema
>;

/**
 * Where onnx.version_converter (onnx 1.12) computes something else than ONNX Runtime does on the
 * original model. The upgrade follows ONNX Runtime on the original: that is what the user's model
 * computes.
 */
const UPSAMPLE_HALF_PIXEL =
  "Upsample becomes a Resize with the mode alone, so Resize-11's defaults apply: half_pixel " +
  "coordinates (and round_prefer_floor for nearest) instead of Upsample's asymmetric x / scale " +
  "(and floor)";
const RESIZE10_HALF_PIXEL =
  "Resize-10 -> 11 only adds the roi input, so the coordinate transformation becomes Resize-11's " +
  "default half_pixel instead of Resize-10's asymmetric (and nearest rounds half down instead of " +
  "ceiling when shrinking)";
const VERSION_CONVERTER_DIFFERS: Record<string, string> = {
  reshape_attr_op4:
    "Reshape-1's shape attribute becomes a Constant tensor with two values and no dims, which " +
    "ONNX Runtime refuses",
  prelu_per_channel_op6:
    "the [C] slope is kept as is; numpy broadcasting then aligns it with the last axis (W = 5), " +
    "not the channels, and ONNX Runtime refuses the shapes",
  selu_defaults_op5:
    "Selu-1's default alpha 1.6732 and gamma 1.0507 silently become Selu-6's 1.67326 and " +
    "1.0507010: 4e-5 relative",
  hardmax_axis1_op11:
    "the Softmax 12 -> 13 adapter is registered for Softmax and LogSoftmax only, so Hardmax keeps " +
    "axis 1 and then takes the max along axis 1 alone instead of over the flattened trailing axes",
  upsample_linear_int_op7: UPSAMPLE_HALF_PIXEL,
  upsample_linear_frac_op8: UPSAMPLE_HALF_PIXEL,
  upsample_nearest_frac_op9: UPSAMPLE_HALF_PIXEL,
  upsample_linear_frac_op9: UPSAMPLE_HALF_PIXEL,
  torch_mix_op9: UPSAMPLE_HALF_PIXEL,
  resize10_nearest_down: RESIZE10_HALF_PIXEL,
  resize10_nearest_mixed: RESIZE10_HALF_PIXEL,
  resize10_linear_down: RESIZE10_HALF_PIXEL,
  resize10_linear_up: RESIZE10_HALF_PIXEL,
  torch_mix_op10: RESIZE10_HALF_PIXEL,
};

function decode(e: Encoded): OrtTensor {
  const bytes = Buffer.from(e.data, "base64");
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (e.type) {
    case "float32":
      return new Tensor("float32", new Float32Array(buffer), e.dims);
    case "int64":
      return new Tensor("int64", new BigInt64Array(buffer), e.dims);
    case "int32":
      return new Tensor("int32", new Int32Array(buffer), e.dims);
    case "bool":
      return new Tensor("bool", new Uint8Array(buffer), e.dims);
    default:
      throw new Error(`fixture type ${e.type}`);
  }
}

async function run(
  engine: Engine,
  model: OnnxModel,
  feeds: Record<string, OrtTensor>,
): Promise<Record<string, OrtTensor>> {
  const session = await engine.open(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

/** The dims of every node output of the original model, from one run (the probe). */
async function probe(
  engine: Engine,
  model: OnnxModel,
  feeds: Record<string, OrtTensor>,
): Promise<Map<string, number[]>> {
  const types = elemTypes(model);
  // Outputs nothing reads (a Dropout mask) are left out: their types changed across opsets.
  const read = new Set(model.graph.node.flatMap((n) => n.input));
  const names = model.graph.node.flatMap((n) =>
    n.output.filter((o) => o && types.has(o) && read.has(o)),
  );
  const results = await run(engine, withOutputs(model, names), feeds);
  return new Map(Object.entries(results).map(([k, t]) => [k, [...t.dims]]));
}

/** max |a - b| / max |b|, and whether every value is bit-identical. */
function difference(a: OrtTensor, b: OrtTensor): { relative: number; identical: boolean } {
  assert.deepEqual([...a.dims], [...b.dims], "dims");
  assert.equal(a.type, b.type, "element type");
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let diff = 0;
  let scale = 0;
  let identical = true;
  for (let i = 0; i < y.length; i++) {
    const u = Number(x[i]);
    const v = Number(y[i]);
    if (!Object.is(u, v)) identical = false;
    diff = Math.max(diff, Math.abs(u - v));
    scale = Math.max(scale, Math.abs(v));
  }
  return { relative: scale > 0 ? diff / scale : diff, identical };
}

/** Every way a node departs from its opset-13 schema (unknown op, attribute, arity). */
function schemaViolations(model: OnnxModel): string[] {
  const problems: string[] = [];
  const describe = (n: NodeProto) => `${n.op_type} "${n.name ?? ""}"`;
  for (const n of model.graph.node) {
    if (n.domain && n.domain !== "ai.onnx") continue;
    const s = schema13[n.op_type];
    if (!s || s.deprecated) {
      problems.push(`${describe(n)}: no opset-13 operator`);
      continue;
    }
    for (const a of n.attribute) {
      const expected = s.attributes[a.name];
      if (!expected) problems.push(`${describe(n)}: attribute ${a.name} is not in opset 13`);
      else if (a.type !== undefined && a.type !== expected.type) {
        problems.push(
          `${describe(n)}: attribute ${a.name} has type ${a.type}, not ${expected.type}`,
        );
      }
    }
    for (const [name, a] of Object.entries(s.attributes)) {
      if (a.required && !n.attribute.some((x) => x.name === name)) {
        problems.push(`${describe(n)}: required attribute ${name} missing`);
      }
    }
    if (n.input.length < s.inputs[0] || n.input.length > s.inputs[1]) {
      problems.push(`${describe(n)}: ${n.input.length} inputs`);
    }
    if (n.output.length < s.outputs[0] || n.output.length > s.outputs[1]) {
      problems.push(`${describe(n)}: ${n.output.length} outputs`);
    }
  }
  return problems;
}

const load = (file: string) => OnnxModel.fromBytes(readFileSync(join(DIR, file)), file);

test("every opset fixture is checked", () => {
  assert.ok(spec.cases.length >= 100, `only ${spec.cases.length} cases`);
  for (const name of Object.keys(VERSION_CONVERTER_DIFFERS)) {
    assert.ok(
      spec.cases.some((c) => c.name === name),
      `${name} is listed as a converter disagreement`,
    );
  }
});

for (const c of spec.cases) {
  test(`opset upgrade: ${c.name} (${c.description})`, async () => {
    // Bit-identical results are checked with graph optimisations off, so both models run the
    // same kernels; the optimised runs (what users get) must agree within 1e-6.
    const engine = new Engine({ threads: 1 });
    const plain = new Engine({ threads: 1, optimization: "disabled" });
    const original = load(`${c.name}.onnx`);
    const feeds = Object.fromEntries(c.inputs.map((i) => [i.name, decode(i)]));
    let expected: Record<string, OrtTensor>;
    let expectedPlain: Record<string, OrtTensor>;
    let shapes: Map<string, number[]> | undefined;
    if (c.reference) {
      expected = Object.fromEntries(Object.entries(c.reference).map(([k, e]) => [k, decode(e)]));
      expectedPlain = expected;
    } else {
      expected = await run(engine, original, feeds);
      expectedPlain = await run(plain, original, feeds);
      shapes = await probe(engine, original, feeds);
    }

    const variants = shapes ? [undefined, shapes] : [undefined];
    for (const probed of variants) {
      const label = probed ? "with shapes" : "without shapes";
      const up = upgradeOpset(original, probed ? { shapes: probed } : {});
      assert.equal(up.from, c.opset);
      assert.equal(up.to, 13);
      assert.equal(up.model.opset(""), 13);
      assert.ok((up.model.proto.ir_version ?? 0) >= 7, "IR version");
      assert.deepEqual(schemaViolations(up.model), [], label);
      const got = await run(engine, up.model, feeds);
      const gotPlain = await run(plain, up.model, feeds);
      for (const name of c.outputs) {
        const d = difference(got[name]!, expected[name]!);
        assert.ok(d.relative <= 1e-6, `${label}: ${name} relative error ${d.relative}`);
        if (c.bitwise) {
          const e = difference(gotPlain[name]!, expectedPlain[name]!);
          assert.ok(e.identical, `${label}: ${name} not bit-identical (${e.relative})`);
        }
      }
    }

    // Later targets: the same computation in opset 18 (Reduce* axes as inputs, Split's
    // num_outputs) and 21.
    for (const target of [18, 21]) {
      const up = upgradeOpset(original, { target, ...(shapes ? { shapes } : {}) });
      assert.equal(up.model.opset(""), target);
      const got = await run(engine, up.model, feeds);
      for (const name of c.outputs) {
        const d = difference(got[name]!, expected[name]!);
        assert.ok(d.relative <= 1e-6, `opset ${target}: ${name} relative error ${d.relative}`);
      }
    }

    const vc = c.versionConverter;
    if ("file" in vc) {
      const why = VERSION_CONVERTER_DIFFERS[c.name];
      let worst = 0;
      try {
        const converted = await run(engine, load(vc.file), feeds);
        for (const name of c.outputs) {
          worst = Math.max(worst, difference(converted[name]!, expected[name]!).relative);
        }
      } catch {
        worst = Infinity; // ONNX Runtime refuses the converted model
      }
      if (why) assert.ok(worst > 1e-6, `${c.name} agrees with the converter now: ${why}`);
      else assert.ok(worst <= 1e-6, `${c.name}: version_converter differs by ${worst}`);
    }
    await engine.dispose();
    await plain.dispose();
  });
}

test("the upgrade's operator versions are onnx's (as far as onnx 1.12 knows them, opset 17)", () => {
  const onnx = JSON.parse(readFileSync(join(DIR, "op-versions.json"), "utf8")) as Record<
    string,
    number[]
  >;
  for (const [op, versions] of Object.entries(OP_VERSIONS)) {
    const known = versions.filter((v) => v <= 17);
    if (known.length === 0) continue;
    // onnx lists Upsample's deprecation (opset 10) as one more version.
    const expected = (onnx[op] ?? []).filter((v) => v !== DEPRECATED_AT[op]);
    assert.deepEqual(known, expected, op);
  }
});

test("constants for float16 and float64 inputs have the input's element type", () => {
  for (const [elem, bytes] of [
    [DataType.FLOAT16, [0x00, 0x38]], // 0.5
    [DataType.DOUBLE, [0, 0, 0, 0, 0, 0, 0xe0, 0x3f]],
  ] as const) {
    const model = tiny(9, [
      {
        op_type: "Clip",
        input: ["x"],
        output: ["y"],
        attribute: [makeAttr("min", { float: 0.5 })],
      },
    ]);
    model.graph.input[0]!.type!.tensor_type!.elem_type = elem;
    const up = upgradeOpset(model).model;
    const min = up.graph.initializer.find((t) => t.name === up.graph.node[0]!.input[1]);
    assert.equal(min?.data_type, elem);
    assert.deepEqual([...(min?.raw_data ?? [])], bytes);
  }
});

/** A one-graph model from nodes; `x` is a float input of the given dims. */
function tiny(
  opset: number,
  nodes: Partial<NodeProto>[],
  options: { dims?: number[]; outputs?: string[]; initializers?: TensorProto[] } = {},
): OnnxModel {
  const dims = options.dims ?? [1, 3, 4, 4];
  const value = (name: string, d?: number[]) => ({
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        ...(d ? { shape: { dim: d.map((v) => ({ dim_value: v })) } } : {}),
      },
    },
  });
  return new OnnxModel(
    {
      ir_version: 3,
      opset_import: [{ domain: "", version: opset }],
      graph: {
        name: "tiny",
        node: nodes.map((n) => ({ input: [], output: [], attribute: [], op_type: "", ...n })),
        initializer: options.initializers ?? [],
        input: [value("x", dims)],
        output: (options.outputs ?? ["y"]).map((o) => value(o)),
        value_info: [],
      },
    },
    "tiny.onnx",
  );
}

function unsupported(model: OnnxModel, message: string, target?: number): void {
  assert.throws(
    () => upgradeOpset(model, target ? { target } : {}),
    (error: unknown) => {
      assert.ok(error instanceof CamscopeError, String(error));
      assert.equal(error.code, "UNSUPPORTED_MODEL");
      assert.equal(error.message, message);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    },
  );
}

test("opset upgrade errors name the model, the node, the op, the opset and the cause", () => {
  unsupported(
    tiny(7, [
      {
        name: "pool1",
        op_type: "Upsample",
        input: ["x"],
        output: ["y"],
        attribute: [makeAttr("mode", "bilinear"), makeAttr("scales", { floats: [1, 1, 2, 2] })],
      },
    ]),
    'Model "tiny.onnx" node "pool1" (Upsample, opset 7): mode "bilinear" has no opset-13 ' +
      "equivalent (the modes are nearest, linear and cubic)",
  );
  const bn = (opset: number, attribute: ReturnType<typeof makeAttr>[], output = ["y"]) =>
    tiny(opset, [
      { op_type: "Relu", input: ["x"], output: ["r"] },
      { op_type: "BatchNormalization", input: ["r", "s", "b", "m", "v"], output, attribute },
    ]);
  unsupported(
    bn(8, [makeAttr("spatial", 0)]),
    'Model "tiny.onnx" node #1 (BatchNormalization, opset 8): spatial=0 (per-activation ' +
      "statistics) on an input of unknown rank has no opset-13 equivalent",
  );
  unsupported(
    bn(9, [], ["y", "mean", "var", "saved_mean", "saved_var"]),
    'Model "tiny.onnx" node #1 (BatchNormalization, opset 9): 5 outputs make it normalise with ' +
      "batch statistics (training mode); export the model in eval mode",
  );
  unsupported(
    bn(6, [makeAttr("is_test", 0)]),
    'Model "tiny.onnx" node #1 (BatchNormalization, opset 6): is_test=0 asks for training-mode ' +
      "batch statistics; export the model for inference",
  );
  unsupported(
    tiny(
      10,
      [
        { name: "drop", op_type: "Dropout", input: ["x"], output: ["y", "mask"] },
        { op_type: "Not", input: ["mask"], output: ["keep"] },
      ],
      { outputs: ["y", "keep"] },
    ),
    'Model "tiny.onnx" node "drop" (Dropout, opset 10): the dropout mask "mask" is used',
  );
  unsupported(
    tiny(1, [
      {
        op_type: "Pad",
        input: ["x"],
        output: ["y"],
        attribute: [makeAttr("paddings", [1, 1, 1, 1])],
      },
    ]),
    'Model "tiny.onnx" node #0 (Pad, opset 1): Pad-1\'s paddings attribute has two ' +
      "contradicting layouts in the ONNX specification",
  );
  unsupported(
    tiny(5, [{ op_type: "Tile", input: ["x", "t", "a"], output: ["y"] }]),
    'Model "tiny.onnx" node #0 (Tile, opset 5): Tile-1 (tiles and axis inputs) is not supported',
  );
  unsupported(
    tiny(9, [{ name: "f", op_type: "FancyOp", input: ["x"], output: ["y"] }]),
    'Model "tiny.onnx" node "f" (FancyOp, opset 9): FancyOp is not an operator the opset ' +
      "upgrade knows",
  );
  unsupported(
    tiny(11, [{ op_type: "If", input: ["x"], output: ["y"] }]),
    'Model "tiny.onnx" node #0 (If, opset 11): If is not an operator the opset upgrade knows',
  );
  unsupported(
    tiny(7, [
      {
        op_type: "Upsample",
        input: ["x"],
        output: ["y"],
        attribute: [makeAttr("scales", { floats: [1, 1, 0.5, 0.5] })],
      },
    ]),
    'Model "tiny.onnx" node #0 (Upsample, opset 7): scales [1, 1, 0.5, 0.5] below 1, which ' +
      "Upsample does not allow",
  );
  unsupported(
    tiny(7, [{ op_type: "Expand", input: ["x", "shape"], output: ["y"] }]),
    'Model "tiny.onnx" node #0 (Expand, opset 7): Expand does not exist yet at opset 7',
  );
  unsupported(
    tiny(10, [{ op_type: "Upsample", input: ["x", "scales"], output: ["y"] }]),
    'Model "tiny.onnx" node #0 (Upsample, opset 10): Upsample was removed from ONNX at opset 10',
  );
  unsupported(
    tiny(5, [
      {
        op_type: "Upsample",
        input: ["x"],
        output: ["y"],
        attribute: [makeAttr("height_scale", { float: 2 }), makeAttr("width_scale", { float: 2 })],
      },
    ]),
    'Model "tiny.onnx" node #0 (Upsample, opset 5): the experimental Upsample-1 ' +
      "(height_scale/width_scale) is not supported",
  );
  unsupported(
    tiny(6, [
      {
        op_type: "Add",
        input: ["x", "b"],
        output: ["y"],
        attribute: [makeAttr("broadcast", 1), makeAttr("axis", -1)],
      },
    ]),
    'Model "tiny.onnx" node #0 (Add, opset 6): legacy broadcast axis -1 is negative, which ' +
      "opset 6 does not define",
  );
  unsupported(
    tiny(12, [
      { op_type: "Softmax", input: ["x"], output: ["y"], attribute: [makeAttr("axis", 4)] },
    ]),
    'Model "tiny.onnx" node #0 (Softmax, opset 12): axis 4 is out of range for a rank-4 input',
  );
  unsupported(
    tiny(18, [
      {
        op_type: "GroupNormalization",
        input: ["x", "s", "b"],
        output: ["y"],
        attribute: [makeAttr("num_groups", 1)],
      },
    ]),
    'Model "tiny.onnx" node #0 (GroupNormalization, opset 18): GroupNormalization-18\'s ' +
      "per-group scale and bias changed meaning at opset 21",
    21,
  );
});

test("an invalid upgrade target is an INVALID_ARGUMENT error", () => {
  const model = tiny(9, [{ op_type: "Relu", input: ["x"], output: ["y"] }]);
  for (const target of [12, 22, 13.5]) {
    assert.throws(
      () => upgradeOpset(model, { target }),
      (e: unknown) => e instanceof CamscopeError && e.code === "INVALID_ARGUMENT",
    );
  }
});

test("a model at or above the target comes back as the same object", () => {
  for (const opset of [13, 17]) {
    const model = tiny(opset, [{ op_type: "Relu", input: ["x"], output: ["y"] }]);
    const result = upgradeOpset(model);
    assert.equal(result.model, model);
    assert.deepEqual([result.from, result.to, result.changes], [opset, opset, []]);
  }
  const model = tiny(13, [{ op_type: "Relu", input: ["x"], output: ["y"] }]);
  assert.equal(upgradeOpset(model, { target: 13 }).model, model);
  assert.notEqual(upgradeOpset(model, { target: 17 }).model, model);
});

test("the upgrade keeps names, initializers listed as inputs, value_info and other domains", async () => {
  const original = load("caffe2_style_op7.onnx");
  original.graph.value_info.push({
    name: "pool1",
    type: { tensor_type: { elem_type: DataType.FLOAT } },
  });
  original.proto.opset_import.push({ domain: "ai.onnx.ml", version: 1 });
  const before = original.toBytes();
  const { model, changes } = upgradeOpset(original);
  assert.deepEqual(original.toBytes(), before, "the original is not modified");
  assert.deepEqual(
    model.graph.input.map((i) => i.name),
    original.graph.input.map((i) => i.name),
  );
  assert.ok(model.graph.input.length > 1 && model.inputs().length === 1, "Caffe2-style inputs");
  for (const t of original.graph.initializer) {
    assert.ok(model.graph.initializer.some((u) => u.name === t.name && u.raw_data === t.raw_data));
  }
  assert.deepEqual(model.graph.value_info, original.graph.value_info);
  assert.deepEqual(
    model.graph.output.map((o) => o.name),
    original.graph.output.map((o) => o.name),
  );
  assert.deepEqual(model.proto.opset_import, [
    { domain: "", version: 13 },
    { domain: "ai.onnx.ml", version: 1 },
  ]);
  assert.equal(model.proto.ir_version, 7);
  assert.deepEqual(changes, [
    "ImageScaler: Mul and Add with constants",
    "Dropout: Identity (inference)",
    "Softmax: axis 1: Flatten, Softmax over the last axis, Reshape back",
  ]);
  // ONNX Runtime feeds the initializers listed as inputs from their values, as on the original.
  const engine = new Engine({ threads: 1 });
  const session = await engine.open(model);
  assert.deepEqual([...session.inputNames], ["data_0"]);
  await session.dispose();
  await engine.dispose();
});
