// Upsample (opsets 7 to 9) and Resize-10 as Resize-13. Before opset 11 there was one coordinate
// transformation, x_original = x_resized / scale ("asymmetric"), and nearest mode took the floor
// of it when upsampling an axis and the ceiling when downsampling it (ONNX Runtime's kernels,
// which define what these models compute). Resize-11 made "half_pixel" and "round_prefer_floor"
// the defaults, so both are written out.
import { attrFloats, attrString } from "../../onnx/attributes.ts";
import { DataType, type NodeProto } from "../../onnx/proto.ts";
import type { Rule, UpgradeContext } from "./opset-context.ts";

const MODES = new Set(["nearest", "linear", "cubic"]);

function resize13(
  cx: UpgradeContext,
  node: NodeProto,
  x: string,
  scales: string,
  mode: string,
  nearest: "floor" | "ceil" | undefined,
  outputs: readonly string[],
  name: string,
): NodeProto {
  const made = cx.makeNode(
    "Resize",
    [x, "", scales],
    {
      mode,
      coordinate_transformation_mode: "asymmetric",
      ...(nearest ? { nearest_mode: nearest } : {}),
    },
    outputs,
  );
  return { ...made, name };
}

/**
 * Nearest mode rounds per axis: down (floor) where the axis grows or keeps its size, up (ceil)
 * where it shrinks. One Resize-13 has one nearest_mode, so when the scales may mix both, the axes
 * that grow are resized first (scales clipped below at 1) and those that shrink next (clipped above
 * at 1): each axis is resampled once, by its own rule, so the result is the same.
 */
function nearest(
  cx: UpgradeContext,
  node: NodeProto,
  x: string,
  scales: string,
  /** Per axis whether it shrinks, when the scales are constant. */
  shrinks: boolean[] | undefined,
): NodeProto[] {
  const out = node.output;
  const name = node.name ?? "";
  if (shrinks && !shrinks.some(Boolean)) {
    return [resize13(cx, node, x, scales, "nearest", "floor", out, name)];
  }
  if (shrinks && shrinks.every(Boolean)) {
    return [resize13(cx, node, x, scales, "nearest", "ceil", out, name)];
  }
  const values = cx.constantValues(scales);
  let grow: string;
  let shrink: string;
  const extra: NodeProto[] = [];
  if (values) {
    grow = cx.typed(
      values.map((s) => Math.max(s, 1)),
      [values.length],
      DataType.FLOAT,
      "scales_up",
    );
    shrink = cx.typed(
      values.map((s) => Math.min(s, 1)),
      [values.length],
      DataType.FLOAT,
      "scales_down",
    );
  } else {
    const one = cx.typed([1], [], DataType.FLOAT, "one");
    const max = cx.makeNode("Max", [scales, one]);
    const min = cx.makeNode("Min", [scales, one]);
    extra.push(max, min);
    grow = max.output[0]!;
    shrink = min.output[0]!;
  }
  cx.note("nearest with axes both growing and shrinking: two Resize nodes");
  const first = resize13(
    cx,
    node,
    x,
    grow,
    "nearest",
    "floor",
    [cx.fresh("upsampled")],
    cx.fresh("Resize_node"),
  );
  const second = resize13(cx, node, first.output[0]!, shrink, "nearest", "ceil", out, name);
  return [...extra, first, second];
}

function checkMode(cx: UpgradeContext, mode: string): void {
  if (!MODES.has(mode)) {
    return cx.fail(
      `mode "${mode}" has no opset-13 equivalent (the modes are nearest, linear and cubic)`,
    );
  }
}

export const upsampleRule: Rule = (node, cx, version) => {
  if (version < 7) {
    return cx.fail("the experimental Upsample-1 (height_scale/width_scale) is not supported");
  }
  const mode = attrString(node, "mode", "nearest");
  checkMode(cx, mode);
  const x = node.input[0]!;
  let scales: string;
  if (version < 9) {
    const values = attrFloats(node, "scales");
    if (!values) return cx.fail("Upsample needs scales");
    scales = cx.typed(values, [values.length], DataType.FLOAT, "scales");
  } else {
    scales = node.input[1] ?? "";
    if (!scales) return cx.fail("Upsample needs a scales input");
  }
  const values = cx.constantValues(scales);
  if (values?.some((v) => v < 1)) {
    return cx.fail(`scales [${values.join(", ")}] below 1, which Upsample does not allow`);
  }
  cx.note(`Resize-13 (${mode}, asymmetric${mode === "nearest" ? ", floor" : ""})`);
  const name = node.name ?? "";
  // Upsample's scales are at least 1 (ONNX Runtime refuses smaller ones, computed ones when it
  // runs), so nearest floors.
  return [
    resize13(
      cx,
      node,
      x,
      scales,
      mode,
      mode === "nearest" ? "floor" : undefined,
      node.output,
      name,
    ),
  ];
};

export const resizeRule: Rule = (node, cx, version) => {
  if (version >= 11) return [node];
  const mode = attrString(node, "mode", "nearest");
  checkMode(cx, mode);
  const [x, scales] = node.input;
  if (!x || !scales) return cx.fail("Resize-10 needs an input and scales");
  if (mode !== "nearest") {
    cx.note(`Resize-13 (${mode}, asymmetric)`);
    return [resize13(cx, node, x, scales, mode, undefined, node.output, node.name ?? "")];
  }
  // Computed scales leave the direction of each axis open: the two-Resize form covers both.
  const shrinks = cx.constantValues(scales)?.map((s) => s < 1);
  cx.note("Resize-13 (nearest, asymmetric, floor when growing and ceil when shrinking)");
  return nearest(cx, node, x, scales, shrinks);
};
