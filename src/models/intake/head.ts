// The classifier head: which output holds the class scores, whether the graph already turned them
// into (log-)probabilities, and the [N, C] logits every method starts from. A trailing Softmax is
// stripped here, once, so methods explain the logits and a probability is a softmax applied
// exactly once, whatever the export ended in.
import { CamscopeError } from "../../errors.ts";
import { attrInt } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import { DataType, type TensorShapeDimension } from "../../onnx/proto.ts";
import { pruneDead } from "../../onnx/prune.ts";
import { sizeOf } from "../../tensor/tensor.ts";

/** What the model's chosen output held: raw class scores, or their softmax / log-softmax. */
export type HeadKind = "logits" | "softmax" | "logsoftmax";

export interface HeadResult {
  /** The [N, C] logits value, the only graph output afterwards. */
  output: string;
  head: HeadKind;
  classes: number;
  /** The chosen output's dims as exported (batch as probed). */
  exportedDims: number[];
  changes: string[];
}

/** Ops that only re-view the class vector; a Softmax may hide behind them. */
const VIEW_OPS = new Set(["Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity"]);
const CANONICAL_LOGITS = "camscope/logits";

/**
 * The class count of an output shaped [N, C], [N, C, 1, 1] or [N, 1, C] (batch first), else
 * undefined.
 */
export function classCountOf(dims: readonly number[]): number | undefined {
  const rest = dims.slice(1);
  if (rest.length === 1) return rest[0];
  if (rest.length === 3 && rest[1] === 1 && rest[2] === 1) return rest[0];
  if (rest.length === 2 && rest[0] === 1) return rest[1];
  return undefined;
}

function shapeText(dims: readonly number[]): string {
  return `[N, ${dims.slice(1).join(", ")}]`;
}

/** Picks the class-score output: the named one, or the only one. */
export function chooseOutput(model: OnnxModel, named: string | undefined, how: string): string {
  const outputs = model.outputs().map((o) => o.name);
  if (named !== undefined) {
    if (!outputs.includes(named)) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `${how} names output "${named}", but model "${model.source}" has outputs: ${outputs.join(", ")}`,
      );
    }
    return named;
  }
  if (outputs.length !== 1) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model "${model.source}" has ${outputs.length} outputs (${outputs.join(", ")}); name the class-score output with --output <name> or the model card's "output"`,
    );
  }
  return outputs[0]!;
}

/** Whether a Softmax-like node normalises over the class axis of its input. */
function overClasses(
  axis: number,
  dims: readonly number[],
  classes: number,
  opset: number,
): boolean {
  const a = axis < 0 ? axis + dims.length : axis;
  if (a <= 0 || a >= dims.length) return false;
  if (opset >= 13) return dims[a] === classes && sizeOf(dims.slice(1)) === classes;
  // Before opset 13 the input is coerced to 2-D [prod(dims[:a]), prod(dims[a:])].
  return sizeOf(dims.slice(1, a)) === 1 && sizeOf(dims.slice(a)) === classes;
}

/**
 * Makes `output` the model's only output, as [N, C] logits: a trailing Softmax / LogSoftmax over
 * the classes (also behind Flatten, Reshape, Squeeze) is removed, and [N, C, 1, 1] or [N, 1, C]
 * scores are flattened. Any other output shape is refused. Edits `model` in place.
 */
export function normalizeHead(
  model: OnnxModel,
  output: string,
  shapes: ReadonlyMap<string, number[]>,
): HeadResult {
  const dimsOf = (v: string) => shapes.get(v);
  const exportedDims = dimsOf(output);
  if (!exportedDims) throw new Error(`internal: no shape for output "${output}"`);
  const classes = classCountOf(exportedDims);
  if (classes === undefined) {
    throw new CamscopeError(
      "UNSUPPORTED_MODEL",
      `Model "${model.source}" output "${output}" has shape ${shapeText(exportedDims)}; camscope explains classifiers whose output is [N, C], [N, C, 1, 1] or [N, 1, C]` +
        (model.outputs().length > 1 ? " (choose another output with --output)" : ""),
    );
  }
  const { producer } = model.index();
  const changes: string[] = [];
  let head: HeadKind = "logits";
  let logits = output;
  let v = output;
  for (;;) {
    const node = producer.get(v)?.node;
    const source = node?.input[0];
    const d = source === undefined ? undefined : dimsOf(source);
    if (!node || !d || sizeOf(d.slice(1)) !== classes) break;
    // A Transpose of a vector padded with 1s keeps the class order (old exporters wrap an
    // axis-1 Softmax of [N, C, 1, 1] in Transposes to a last-axis one).
    const reorders = node.op_type === "Transpose" && d.slice(1).filter((x) => x > 1).length > 1;
    if (!(VIEW_OPS.has(node.op_type) || node.op_type === "Transpose") || reorders) break;
    v = source!;
  }
  const last = producer.get(v)?.node;
  if (last && (last.op_type === "Softmax" || last.op_type === "LogSoftmax")) {
    const input = last.input[0]!;
    const d = dimsOf(input);
    const opset = model.opset();
    const axis = attrInt(last, "axis", opset >= 13 ? -1 : 1);
    if (!d || !overClasses(axis, d, classes, opset)) {
      throw new CamscopeError(
        "UNSUPPORTED_MODEL",
        `Model "${model.source}" output "${output}" ends in ${last.op_type} node "${last.name ?? ""}" over axis ${axis} of ${shapeText(d ?? [])}, not over its ${classes} classes`,
      );
    }
    head = last.op_type === "Softmax" ? "softmax" : "logsoftmax";
    logits = input;
    changes.push(
      `stripped the trailing ${last.op_type} (node "${last.name ?? ""}"): methods explain its input, the logits`,
    );
  }
  const logitDims = dimsOf(logits)!;
  let canonical = logits;
  if (logitDims.length !== 2) {
    canonical = CANONICAL_LOGITS;
    model.graph.node.push({
      op_type: "Flatten",
      name: `${CANONICAL_LOGITS}/flatten`,
      input: [logits],
      output: [canonical],
      attribute: [{ name: "axis", type: 2, i: 1 }],
    });
    changes.push(`flattened ${shapeText(logitDims)} class scores to [N, ${classes}]`);
  }
  const batch: TensorShapeDimension = model.outputs().find((o) => o.name === output)?.type
    ?.tensor_type?.shape?.dim?.[0] ?? { dim_param: "N" };
  model.graph.output = [
    {
      name: canonical,
      type: {
        tensor_type: {
          elem_type: DataType.FLOAT,
          shape: { dim: [{ ...batch }, { dim_value: classes }] },
        },
      },
    },
  ];
  pruneDead(model);
  return { output: canonical, head, classes, exportedDims, changes };
}
