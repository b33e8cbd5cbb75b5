// The opset-upgrade rules: for each operator whose signature or meaning changed between an old
// opset and the target, how a node of an old version becomes the target's form with the same
// result. Operators without a rule here changed only in ways an old node already satisfies (new
// types, new attributes whose defaults are the old behaviour). Each rule gets the node, the
// upgrade context and the node's version at the model's opset, and returns the replacing nodes.
import { attrFloat, attrInt, attrInts, attrString, hasAttr } from "../../onnx/attributes.ts";
import { AttributeType, type NodeProto } from "../../onnx/proto.ts";
import type { Rule } from "./opset-context.ts";
import { alignFromAxis, findAttr, withAttr, withInputs, withoutAttrs } from "./opset-nodes.ts";
import { resizeRule, upsampleRule } from "./opset-resize.ts";

/** Opsets 1 to 6: `broadcast=1` with `axis` aligned B from that axis of A; numpy broadcasting from 7. */
const legacyBroadcast: Rule = (node, cx, version) => {
  if (version >= 7) return [node];
  const broadcast = attrInt(node, "broadcast", 0) !== 0;
  const axis = findAttr(node, "axis");
  const plain = withoutAttrs(node, "broadcast", "axis");
  if (!broadcast || axis === undefined) {
    if (hasAttr(node, "broadcast"))
      cx.note("legacy broadcast attribute dropped (numpy broadcasting)");
    return [plain];
  }
  const [a, b] = node.input;
  if (!a || !b) return cx.fail("a broadcasting operator needs two inputs");
  const aligned = alignFromAxis(cx, a, b, axis.i ?? 0);
  cx.note(`legacy broadcast axis=${axis.i ?? 0} turned into numpy broadcasting`);
  const inputs = [...node.input];
  inputs[1] = aligned.value;
  return [...aligned.nodes, withInputs(plain, inputs)];
};

/** Before opset 7, a 1-D slope of PRelu was per channel (axis 1), as in Caffe2. */
const prelu: Rule = (node, cx, version) => {
  if (version >= 7) return [node];
  const [x, slope] = node.input;
  if (!x || !slope) return cx.fail("PRelu needs an input and a slope");
  const rank = cx.rank(slope);
  if (rank === undefined) return cx.fail("the rank of the slope is unknown");
  if (rank !== 1) return [node];
  const aligned = alignFromAxis(cx, x, slope, 1);
  if (aligned.nodes.length > 0) cx.note("per-channel slope reshaped for numpy broadcasting");
  return [...aligned.nodes, withInputs(node, [x, aligned.value])];
};

const gemm: Rule = (node, cx, version) => {
  if (version >= 7 || !hasAttr(node, "broadcast")) return [node];
  cx.note("broadcast attribute dropped (C broadcasts unidirectionally since opset 7)");
  return [withoutAttrs(node, "broadcast")];
};

const batchNormalization: Rule = (node, cx, version) => {
  let out = node;
  if (version < 7) {
    // is_test=0 asks for batch statistics, the training-mode computation: not what an inference
    // model can mean, and not what opset 7 on computes from a single-output node.
    if (attrInt(out, "is_test", 0) === 0) {
      return cx.fail(
        "is_test=0 asks for training-mode batch statistics; export the model for inference",
      );
    }
    cx.note("is_test=1 dropped");
    out = withoutAttrs(out, "is_test");
  }
  if (version < 9 && hasAttr(out, "spatial")) {
    if (attrInt(out, "spatial", 1) === 0) {
      const rank = node.input[0] ? cx.rank(node.input[0]) : undefined;
      // On a 2-D input every activation is a channel, so per-activation statistics are per channel.
      if (rank !== 2) {
        return cx.fail(
          `spatial=0 (per-activation statistics) on ${rank === undefined ? "an input of unknown rank" : `a rank-${rank} input`} has no opset-13 equivalent`,
        );
      }
    }
    cx.note(`spatial=${attrInt(out, "spatial", 1)} dropped`);
    out = withoutAttrs(out, "spatial");
  }
  // With more than one output, ONNX Runtime runs BatchNormalization before opset 14 in training
  // mode, normalising with the batch's own statistics, whether or not the extra outputs are read.
  const extra = out.output.slice(1).filter(Boolean);
  if (version < 14 && extra.length > 0) {
    return cx.fail(
      `${extra.length + 1} outputs make it normalise with batch statistics (training mode); export the model in eval mode`,
    );
  }
  return [out];
};

/** Every Dropout before opset 12 is an inference identity here (ONNX Runtime treats it so). */
const dropout: Rule = (node, cx, version) => {
  if (version >= 12) return [node];
  const used = node.output.slice(1).filter((o) => cx.isUsed(o));
  if (used.length > 0) return cx.fail(`the dropout mask "${used[0]}" is used`);
  if (version < 7 && attrInt(node, "is_test", 0) === 0) {
    cx.note("is_test=0 (training mode) taken as inference: Identity");
  }
  cx.note("Identity (inference)");
  return [
    {
      ...node,
      op_type: "Identity",
      input: [node.input[0] ?? ""],
      output: [node.output[0]!],
      attribute: [],
    },
  ];
};

const reshape: Rule = (node, cx, version) => {
  if (version >= 5) return [node];
  const shape = attrInts(node, "shape");
  if (!shape) return cx.fail("Reshape has no shape attribute");
  cx.note("shape attribute -> input");
  return [withInputs(withoutAttrs(node, "shape"), [node.input[0]!, cx.int64s(shape, "shape")])];
};

/** The `axes` attribute becomes an input from `since` (13 for Squeeze, Unsqueeze, ReduceSum). */
function axesToInput(since: number): Rule {
  return (node, cx, version) => {
    if (version >= since || cx.target < since) return [node];
    const axes = attrInts(node, "axes");
    const plain = withoutAttrs(node, "axes");
    if (axes === undefined || axes.length === 0) return [plain];
    cx.note("axes attribute -> input");
    return [withInputs(plain, [node.input[0]!, cx.int64s(axes, "axes")])];
  };
}

const slice: Rule = (node, cx, version) => {
  if (version >= 10) return [node];
  const starts = attrInts(node, "starts");
  const ends = attrInts(node, "ends");
  if (!starts || !ends) return cx.fail("Slice needs starts and ends");
  // Omitted axes mean the first len(starts) axes; written out so no reading of "omitted" differs.
  const axes = attrInts(node, "axes") ?? starts.map((_, k) => k);
  cx.note("starts/ends/axes attributes -> inputs");
  return [
    withInputs(withoutAttrs(node, "starts", "ends", "axes"), [
      node.input[0]!,
      cx.int64s(starts, "starts"),
      cx.int64s(ends, "ends"),
      cx.int64s(axes, "axes"),
    ]),
  ];
};

const pad: Rule = (node, cx, version) => {
  if (version >= 11) return [node];
  if (version < 2) {
    return cx.fail(
      "Pad-1's paddings attribute has two contradicting layouts in the ONNX specification",
    );
  }
  const pads = attrInts(node, "pads");
  if (!pads) return cx.fail("Pad needs pads");
  const mode = attrString(node, "mode", "constant");
  const value = attrFloat(node, "value", 0);
  const x = node.input[0]!;
  const inputs = [x, cx.int64s(pads, "pads")];
  if (mode === "constant" && value !== 0) {
    inputs.push(cx.typed([value], [], cx.elemType(x), "constant_value"));
  }
  cx.note("pads/value attributes -> inputs");
  return [withInputs(withoutAttrs(node, "pads", "value"), inputs)];
};

const clip: Rule = (node, cx, version) => {
  if (version >= 11) return [node];
  const x = node.input[0]!;
  const type = cx.elemType(x);
  // An absent bound stays absent (an omitted optional input), not numeric_limits: same result.
  const bound = (name: string) =>
    hasAttr(node, name) ? cx.typed([attrFloat(node, name, 0)], [], type, name) : "";
  cx.note("min/max attributes -> inputs");
  return [withInputs(withoutAttrs(node, "min", "max"), [x, bound("min"), bound("max")])];
};

/**
 * Softmax, LogSoftmax and Hardmax before 13 coerce the input to 2-D at `axis` (default 1) and
 * normalise each row; from 13 they normalise along `axis` alone (default -1). The plain form is
 * kept where both agree: the axis is the last one, or every dimension after it is 1. Otherwise the
 * old meaning is written out: Flatten at the axis, the op over the last axis, Reshape back.
 */
const softmaxFamily: Rule = (node, cx, version) => {
  if (version >= 13) return [node];
  const x = node.input[0]!;
  const axis = attrInt(node, "axis", 1);
  const rank = cx.rank(x);
  const dims = cx.dims(x);
  const positive = rank !== undefined && axis < 0 ? axis + rank : axis;
  if (rank !== undefined && (positive < 0 || positive >= rank)) {
    return cx.fail(`axis ${axis} is out of range for a rank-${rank} input`);
  }
  const last = rank !== undefined ? positive === rank - 1 : axis === -1;
  const trailingOnes = dims !== undefined && dims.slice(positive + 1).every((d) => d === 1);
  if (last || trailingOnes) {
    cx.note(`axis ${axis} kept (${last ? "last axis" : "trailing dims are 1"}): same result`);
    return [withAttr(node, "axis", axis)];
  }
  const shape = cx.makeNode("Shape", [x]);
  const flat = cx.makeNode("Flatten", [x], { axis });
  const op = cx.makeNode(node.op_type, [flat.output[0]!], { axis: -1 });
  const back: NodeProto = {
    ...node,
    op_type: "Reshape",
    input: [op.output[0]!, shape.output[0]!],
    attribute: [],
  };
  cx.note(`axis ${axis}: Flatten, ${node.op_type} over the last axis, Reshape back`);
  return [shape, flat, op, back];
};

const concat: Rule = (node, cx, version) => {
  if (version >= 4 || hasAttr(node, "axis")) return [node];
  cx.note("default axis 1 written out");
  return [withAttr(node, "axis", 1)];
};

const split: Rule = (node, cx, version) => {
  let out = node;
  if (version < 2) {
    if (node.input.length > 1 && node.input[1])
      return cx.fail("Split-1's split input is not supported");
    if (!hasAttr(node, "axis"))
      return cx.fail("Split-1 without an axis attribute has no defined axis");
  }
  if (version < 13) {
    const lengths = attrInts(node, "split");
    out = withoutAttrs(out, "split");
    if (lengths && lengths.length > 0) {
      cx.note("split attribute -> input");
      out = withInputs(out, [node.input[0]!, cx.int64s(lengths, "split")]);
    }
  }
  if (version < 18 && cx.target >= 18 && (out.input.length < 2 || !out.input[1])) {
    // Split-18 wants the number of parts spelled out when no lengths are given.
    out = withAttr(out, "num_outputs", out.output.length);
  }
  return [out];
};

const CAST_NAMES: Readonly<Record<string, number>> = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
};

/** Cast-1 names the type as a string ("FLOAT"); some old files do so at later opsets too. */
const cast: Rule = (node, cx) => {
  const to = findAttr(node, "to");
  // Files old enough to name the type may also leave the attribute's type field unset.
  const named =
    to?.type === AttributeType.STRING || (to?.type === undefined && to?.s !== undefined);
  if (!named) return [node];
  const name = attrString(node, "to", "").toUpperCase();
  const code = CAST_NAMES[name];
  if (code === undefined) return cx.fail(`unknown target type "${name}"`);
  cx.note("to as a type name -> type code");
  return [withAttr(node, "to", code)];
};

const topK: Rule = (node, cx, version) => {
  if (version >= 10) return [node];
  const k = attrInt(node, "k", -1);
  if (k < 0) return cx.fail("TopK-1 needs k");
  cx.note("k attribute -> input");
  return [withInputs(withoutAttrs(node, "k"), [node.input[0]!, cx.int64s([k], "k")])];
};

/** LpPool and GlobalLpPool took p as a float before opset 2, as an integer since. */
const lpPool: Rule = (node, cx, version) => {
  if (version >= 2) return [node];
  const p = attrFloat(node, "p", 2);
  if (!Number.isInteger(p)) return cx.fail(`p=${p} is not an integer, which opset 2 requires`);
  cx.note("p as an integer");
  return [withAttr(node, "p", p)];
};

/** Selu-1's defaults (alpha 1.6732, gamma 1.0507) differ from Selu-6's in the last digits. */
const selu: Rule = (node, cx, version) => {
  if (version >= 6) return [node];
  let out = node;
  if (!hasAttr(out, "alpha")) out = withAttr(out, "alpha", { float: 1.6732 });
  if (!hasAttr(out, "gamma")) out = withAttr(out, "gamma", { float: 1.0507 });
  if (out !== node) cx.note("Selu-1 default alpha/gamma written out");
  return [out];
};

const tile: Rule = (node, cx, version) => {
  if (version < 6) return cx.fail("Tile-1 (tiles and axis inputs) is not supported");
  return [node];
};

const groupNormalization: Rule = (node, cx, version) => {
  if (version < 21 && cx.target >= 21) {
    return cx.fail("GroupNormalization-18's per-group scale and bias changed meaning at opset 21");
  }
  return [node];
};

const REDUCE_18 = [
  "ReduceMean",
  "ReduceMax",
  "ReduceMin",
  "ReduceProd",
  "ReduceL1",
  "ReduceL2",
  "ReduceLogSum",
  "ReduceLogSumExp",
  "ReduceSumSquare",
];

export const RULES: Readonly<Record<string, Rule>> = {
  ...Object.fromEntries(
    ["Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"].map(
      (op) => [op, legacyBroadcast],
    ),
  ),
  ...Object.fromEntries(REDUCE_18.map((op) => [op, axesToInput(18)])),
  PRelu: prelu,
  Gemm: gemm,
  BatchNormalization: batchNormalization,
  Dropout: dropout,
  Reshape: reshape,
  Squeeze: axesToInput(13),
  Unsqueeze: axesToInput(13),
  ReduceSum: axesToInput(13),
  Slice: slice,
  Pad: pad,
  Clip: clip,
  Softmax: softmaxFamily,
  LogSoftmax: softmaxFamily,
  Hardmax: softmaxFamily,
  Concat: concat,
  Split: split,
  Cast: cast,
  TopK: topK,
  LpPool: lpPool,
  GlobalLpPool: lpPool,
  Selu: selu,
  Tile: tile,
  GroupNormalization: groupNormalization,
  Upsample: upsampleRule,
  Resize: resizeRule,
};
