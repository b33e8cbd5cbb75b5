// The opset upgrade of model intake: a model exported at an old opset (7 to 12: Caffe2-era zoo
// models, early PyTorch exports) rewritten once, at load, into the target opset's node forms, so
// that the subgraphs camscope's compilers append (written for opset 13 and later) live in a model
// ONNX Runtime accepts. Each node becomes the target's form of the same computation; an operator
// or version the upgrade cannot vouch for is an UNSUPPORTED_MODEL error naming the node.
import { CamscopeError } from "../../errors.ts";
import { hasAttr } from "../../onnx/attributes.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { NodeProto } from "../../onnx/proto.ts";
import { UpgradeContext } from "./opset-context.ts";
import { EXPERIMENTAL } from "./opset-experimental.ts";
import { withoutAttrs } from "./opset-nodes.ts";
import { RULES } from "./opset-rules.ts";
import {
  DEPRECATED_AT,
  irVersionFor,
  MAX_TARGET_OPSET,
  OP_VERSIONS,
  opVersion,
} from "./opset-versions.ts";

export const DEFAULT_TARGET_OPSET = 13;

export interface UpgradeOptions {
  /** The opset to convert to (13 to 21); default 13. */
  target?: number;
  /**
   * Dims of values from a probe run of the original model. Used only where a conversion depends
   * on a rank or a dim (Softmax's axis, Resize-10's direction); without them the rank-agnostic
   * exact form is written.
   */
  shapes?: ReadonlyMap<string, number[]>;
}

export interface UpgradeResult {
  /** The converted copy, or the given model itself when it was already at or above the target. */
  model: OnnxModel;
  /** The model's default-domain opset before and after. */
  from: number;
  to: number;
  /** What changed, one line per kind of change (with a node count when several). */
  changes: string[];
}

/**
 * Returns a copy of `model` converted to opset `target` (default 13) if it is older; models at or
 * above `target` are returned unchanged (same object).
 */
export function upgradeOpset(model: OnnxModel, options: UpgradeOptions = {}): UpgradeResult {
  const target = options.target ?? DEFAULT_TARGET_OPSET;
  if (!Number.isInteger(target) || target < DEFAULT_TARGET_OPSET || target > MAX_TARGET_OPSET) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Opset upgrade target ${target} is outside ${DEFAULT_TARGET_OPSET} to ${MAX_TARGET_OPSET}`,
    );
  }
  const from = model.opset("");
  // A model importing no default-domain opset has no ONNX operator to convert.
  if (from === 0 || from >= target) return { model, from, to: from, changes: [] };

  const copy = model.clone();
  const cx = new UpgradeContext(copy, from, target, options.shapes);
  const nodes: NodeProto[] = [];
  copy.graph.node.forEach((node, index) => {
    if (node.domain && node.domain !== "ai.onnx") {
      nodes.push(node);
      return;
    }
    cx.node = node;
    cx.index = index;
    for (const made of convert(node, cx)) {
      if (opVersion(made.op_type, target) === undefined) {
        throw new Error(`opset upgrade emitted ${made.op_type}, which opset ${target} lacks`);
      }
      nodes.push(made);
    }
  });
  copy.graph.node = nodes;
  copy.graph.initializer.push(...cx.initializers);

  const entry = copy.proto.opset_import.find((o) => !o.domain || o.domain === "ai.onnx")!;
  entry.version = target;
  const ir = irVersionFor(target);
  if ((copy.proto.ir_version ?? 0) < ir) copy.proto.ir_version = ir;
  return { model: copy, from, to: target, changes: cx.changeLog() };
}

function convert(node: NodeProto, cx: UpgradeContext): NodeProto[] {
  const op = node.op_type;
  const version = opVersion(op, cx.from);
  if (version === undefined) {
    const experimental = EXPERIMENTAL[op];
    if (experimental) return experimental(node, cx);
    const deprecated = DEPRECATED_AT[op];
    if (deprecated !== undefined && cx.from >= deprecated) {
      return cx.fail(`${op} was removed from ONNX at opset ${deprecated}`);
    }
    if (OP_VERSIONS[op]) return cx.fail(`${op} does not exist yet at opset ${cx.from}`);
    return cx.fail(`${op} is not an operator the opset upgrade knows`);
  }
  let current = node;
  // A legacy optimisation hint of the version-1 operators, without effect on the result.
  if (version < 6 && hasAttr(current, "consumed_inputs")) {
    cx.note("consumed_inputs dropped");
    current = withoutAttrs(current, "consumed_inputs");
  }
  const rule = RULES[op];
  return rule ? rule(current, cx, version) : [current];
}
