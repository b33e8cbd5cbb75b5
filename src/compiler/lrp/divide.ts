// The two divisions of LRP rules (docs/lrp-rules.md), emitted as graph nodes. Masks are Cast
// comparisons multiplied in, which ONNX Runtime runs faster than Where.
import type { GraphBuilder } from "../builder.ts";

/** r / z where z != 0, and 0 where z == 0. */
export function safeDivide(b: GraphBuilder, r: string, z: string): string {
  const zero = b.mask("Equal", z, b.scalar(0));
  const quotient = b.op("Div", [r, b.add(z, zero)]);
  return b.mul(quotient, b.op("Sub", [b.scalar(1), zero]));
}

/** r / (z + eps * sgn(z)), sgn(0) = +1: the epsilon rule's stabiliser. */
export function divideStabilized(b: GraphBuilder, r: string, z: string, eps: number): string {
  // eps * sgn(z) = 2 eps [z >= 0] - eps; "not less than" is GreaterOrEqual at every opset.
  const nonNegative = b.op("Sub", [b.scalar(1), b.mask("Less", z, b.scalar(0))]);
  const shift = b.add(b.mul(nonNegative, b.scalar(2 * eps)), b.scalar(-eps));
  return b.op("Div", [r, b.add(z, shift)]);
}
