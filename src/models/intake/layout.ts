// Channels-last image inputs (Keras/TensorFlow through tf2onnx, and any model that transposes its
// input) get a channels-first entry: a Transpose at the top of the graph takes an NCHW tensor and
// produces what the model's first layers read. Everything downstream of intake (preprocessing,
// masks, perturbations, input gradients, maps) then has one layout.
import { CamscopeError } from "../../errors.ts";
import { attrInts } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { TensorShapeDimension } from "../../onnx/proto.ts";

/** An image tensor's layout: channels first or channels last. */
export type Layout = "NCHW" | "NHWC";

/** Ops that rescale pixels without moving them; a layout Transpose may come after them. */
const PIXELWISE = new Set(["Sub", "Add", "Mul", "Div", "Cast", "Identity"]);
const CHANNEL_FIRST_OPS = new Set(["Conv", "MaxPool", "AveragePool", "BatchNormalization"]);

function isChannelCount(d: TensorShapeDimension | undefined): boolean {
  return d?.dim_value === 3 || d?.dim_value === 1;
}

/**
 * The input's layout as the graph reads it: the first op that cares (a Transpose to channels-first,
 * or a Conv/pool reading it directly) decides; a graph that says nothing is judged by its dims
 * ([N, H, W, 3] vs [N, 3, H, W]). Throws when neither settles it.
 */
export function detectLayout(model: OnnxModel, input: string): Layout {
  const { consumers } = model.index();
  const frontier = [input];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const value = frontier.shift()!;
    for (const node of consumers.get(value) ?? []) {
      if (node.op_type === "Transpose") {
        const perm = attrInts(node, "perm")?.join(",");
        if (perm === "0,3,1,2") return "NHWC";
        if (perm === "0,2,3,1") return "NCHW";
      } else if (CHANNEL_FIRST_OPS.has(node.op_type) && node.input[0] === value) {
        return "NCHW";
      } else if (PIXELWISE.has(node.op_type)) {
        for (const o of node.output) {
          if (o && !seen.has(o)) {
            seen.add(o);
            frontier.push(o);
          }
        }
      }
    }
  }
  const dims = model.inputs().find((v) => v.name === input)?.type?.tensor_type?.shape?.dim ?? [];
  const first = isChannelCount(dims[1]);
  const last = isChannelCount(dims[3]);
  if (last && !first) return "NHWC";
  if (first && !last) return "NCHW";
  throw new CamscopeError(
    "MODEL_LOAD",
    `Cannot tell whether model "${model.source}" input "${input}" is NCHW or NHWC; give "layout" in the model card's preprocessing`,
  );
}

/**
 * Makes the model take NCHW: the input keeps its name but becomes [N, C, H, W], and a Transpose
 * turns it into the NHWC tensor the rest of the graph reads. Edits `model` in place.
 */
export function toChannelsFirst(model: OnnxModel, input: string): void {
  const g = model.graph;
  const inner = `camscope/nhwc/${input}`;
  for (const node of g.node) {
    node.input = node.input.map((i) => (i === input ? inner : i));
  }
  for (const o of g.output) if (o.name === input) o.name = inner;
  g.node.unshift({
    op_type: "Transpose",
    name: `${inner}/transpose`,
    input: [input],
    output: [inner],
    attribute: [{ name: "perm", type: 7, ints: [0, 2, 3, 1] }],
  });
  const info = g.input.find((v) => v.name === input)!;
  const shape = info.type?.tensor_type?.shape;
  if (shape?.dim && shape.dim.length === 4) {
    const [n, h, w, c] = shape.dim;
    shape.dim = [n!, c!, h!, w!];
  }
}
