// Small helpers the opset-upgrade rules share: copies of nodes with attributes or inputs changed,
// and the legacy broadcast alignment of opsets before 7.
import { makeAttr, type AttrValue } from "../../onnx/attributes.ts";
import type { AttributeProto, NodeProto } from "../../onnx/proto.ts";
import { int64Tensor } from "../../onnx/tensor.ts";
import type { UpgradeContext } from "./opset-context.ts";

export function findAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** A copy of the node without the named attributes. */
export function withoutAttrs(node: NodeProto, ...names: string[]): NodeProto {
  return { ...node, attribute: node.attribute.filter((a) => !names.includes(a.name)) };
}

/** A copy of the node with an attribute set (replaced when present). */
export function withAttr(node: NodeProto, name: string, value: AttrValue): NodeProto {
  return {
    ...node,
    attribute: [...node.attribute.filter((a) => a.name !== name), makeAttr(name, value)],
  };
}

/** A copy of the node with these inputs; trailing empty (omitted optional) inputs are dropped. */
export function withInputs(node: NodeProto, inputs: readonly string[]): NodeProto {
  const list = [...inputs];
  while (list.length > 0 && list[list.length - 1] === "") list.pop();
  return { ...node, input: list };
}

/**
 * `b` reshaped so that numpy broadcasting against `a` lines it up from dimension `axis` of `a`,
 * as the legacy `broadcast=1, axis=k` attributes of opsets 1 to 6 did: trailing 1s are appended
 * to b's shape. Returns the new value and the nodes computing it (none when no change is needed).
 * With ranks unknown, the count of trailing 1s is computed in the graph from both shapes.
 */
export function alignFromAxis(
  cx: UpgradeContext,
  a: string,
  b: string,
  axis: number,
): { value: string; nodes: NodeProto[] } {
  if (axis < 0)
    return cx.fail(`legacy broadcast axis ${axis} is negative, which opset 6 does not define`);
  const rankA = cx.rank(a);
  const rankB = cx.rank(b);
  if (rankA !== undefined && rankB !== undefined) {
    const trailing = rankA - axis - rankB;
    if (trailing < 0) {
      return cx.fail(
        `legacy broadcast of a rank-${rankB} operand at axis ${axis} of a rank-${rankA} one`,
      );
    }
    if (trailing === 0) return { value: b, nodes: [] };
    const axes = Array.from({ length: trailing }, (_, k) => rankB + k);
    const node = cx.makeNode("Unsqueeze", [b, cx.int64s(axes, "axes")]);
    return { value: node.output[0]!, nodes: [node] };
  }
  const shapeA = cx.makeNode("Shape", [a]);
  const rankANode = cx.makeNode("Shape", [shapeA.output[0]!]);
  const shapeB = cx.makeNode("Shape", [b]);
  const rankBNode = cx.makeNode("Shape", [shapeB.output[0]!]);
  const afterAxis = cx.makeNode("Sub", [rankANode.output[0]!, cx.int64s([axis], "axis")]);
  const count = cx.makeNode("Sub", [afterAxis.output[0]!, rankBNode.output[0]!]);
  const ones = cx.makeNode("ConstantOfShape", [count.output[0]!], {
    value: int64Tensor("value", [1], [1]),
  });
  const shape = cx.makeNode("Concat", [shapeB.output[0]!, ones.output[0]!], { axis: 0 });
  const reshaped = cx.makeNode("Reshape", [b, shape.output[0]!]);
  return {
    value: reshaped.output[0]!,
    nodes: [shapeA, rankANode, shapeB, rankBNode, afterAxis, count, ones, shape, reshaped],
  };
}
