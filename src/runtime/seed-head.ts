// The seed head: the nodes that let a compiled backward graph pick its own seed from the logits
// of the same run, so that one session run resolves the targets and propagates from them (issue
// 15). Each row's class comes in as an int64 graph input, -1 for "the row's top class", which
// ArgMax decides in the graph (the first maximum on ties, as resolveTargets ranks; a one-unit
// binary model: class 1 when its logit is > 0). The seed row is `on` at the class and `off`
// elsewhere (one-hot: 1 and 0; contrastive relevance: 1 and -1/units); a binary model's single
// unit gets +1 for class 1 and -1 for class 0, as seedRows gives it. The chosen classes are an
// output, for the runtime to check them against resolveTargets on the returned logits.
import type { CompiledBackward } from "../compiler/compile.ts";
import { GraphBuilder } from "../compiler/builder.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { DataType, type ValueInfoProto } from "../onnx/proto.ts";
import { int64Tensor } from "../onnx/tensor.ts";

const PREFIX = "camscope/target";

/** The graph input of each row's class (-1: its top class), int64 [N, 1]. */
export const CLASSES_INPUT = `${PREFIX}/classes`;
/** The graph output of each row's chosen class, int64 [N, 1]. */
export const CHOSEN_OUTPUT = `${PREFIX}/chosen`;

/** The oldest opset with every op of the head in the forms used (Where; Less on int64). */
export const SEED_HEAD_MIN_OPSET = 9;

/** What the head reads and writes. */
export interface SeedHead {
  /** The logits value ([N, units]) the top class is taken from. */
  logits: string;
  /** Logits per row (1: a binary model). */
  units: number;
  /** The seed off the class (0 for one-hot; ignored for a binary model). */
  off: number;
}

function int64Value(name: string): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: DataType.INT64,
        shape: { dim: [{ dim_param: "N" }, { dim_value: 1 }] },
      },
    },
  };
}

/**
 * The compiled model with its seed input replaced by the head: it takes {@link CLASSES_INPUT}
 * instead and also returns {@link CHOSEN_OUTPUT}. The head's nodes follow the node that makes the
 * logits, so the graph stays in topological order.
 */
export function withSeedHead(compiled: CompiledBackward, head: SeedHead): OnnxModel {
  const model = compiled.model.clone();
  const g = model.graph;
  const b = new GraphBuilder(model.opset(), PREFIX);
  const binary = head.units === 1;
  const int64 = (values: readonly number[], dims: readonly number[]) => {
    const name = b.fresh("int64");
    b.initializers.push(int64Tensor(name, dims, values));
    return name;
  };
  const top = binary
    ? b.op("Cast", [b.op("Greater", [head.logits, b.scalar(0)])], { to: DataType.INT64 })
    : b.op("ArgMax", [head.logits], { axis: 1, keepdims: 1, ...selectFirst(model.opset()) });
  const chosen = b.op("Where", [b.op("Less", [CLASSES_INPUT, int64([0], [])]), top, CLASSES_INPUT]);
  b.nodes.push({
    op_type: "Identity",
    name: `${CHOSEN_OUTPUT}/node`,
    input: [chosen],
    output: [CHOSEN_OUTPUT],
    attribute: [],
  });
  // A binary model's unit is "class 1": +1 there, -1 for class 0.
  const units = binary ? [1] : Array.from({ length: head.units }, (_, c) => c);
  const hit = b.op("Equal", [chosen, int64(units, [1, units.length])]);
  b.nodes.push({
    op_type: "Where",
    name: `${compiled.seed}/node`,
    input: [hit, b.scalar(1), b.scalar(binary ? -1 : head.off)],
    output: [compiled.seed],
    attribute: [],
  });
  g.input = g.input.filter((i) => i.name !== compiled.seed);
  g.input.push(int64Value(CLASSES_INPUT));
  g.output.push(int64Value(CHOSEN_OUTPUT));
  const after = g.node.findIndex((n) => n.output.includes(head.logits));
  g.node.splice(after + 1, 0, ...b.nodes);
  g.initializer.push(...b.initializers);
  return model;
}

/** ArgMax's first maximum on ties: the default, and explicit where opset 12 added the choice. */
function selectFirst(opset: number): Record<string, number> {
  return opset >= 12 ? { select_last_index: 0 } : {};
}
