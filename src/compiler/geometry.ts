// Window geometry shared by the Conv and pooling rules: explicit pads from auto_pad, and the
// transposed-convolution settings that map a window-op's output gradient back onto exactly the
// input's spatial size (the forward's floor or ceil division loses the remainder).
import { attrInts, attrString } from "../onnx/attributes.ts";
import type { NodeProto } from "../onnx/proto.ts";

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads, one per spatial axis. */
  padsBegin: number[];
  /** End pads, one per spatial axis. */
  padsEnd: number[];
}

/**
 * The window geometry of a Conv/MaxPool/AveragePool node over an input with `spatial` dims.
 * (ceil_mode only changes the output size, which callers read from the inferred shapes.)
 */
export function windowGeometry(
  node: NodeProto,
  spatial: readonly number[],
  kernel: readonly number[],
): WindowGeometry {
  const n = spatial.length;
  const strides = attrInts(node, "strides") ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, "dilations") ?? new Array<number>(n).fill(1);
  const autoPad = attrString(node, "auto_pad", "NOTSET");
  let padsBegin: number[];
  let padsEnd: number[];
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    padsBegin = [];
    padsEnd = [];
    for (let a = 0; a < n; a++) {
      const out = Math.ceil(spatial[a]! / strides[a]!);
      const total = Math.max(
        0,
        (out - 1) * strides[a]! + (kernel[a]! - 1) * dilations[a]! + 1 - spatial[a]!,
      );
      const small = Math.floor(total / 2);
      padsBegin.push(autoPad === "SAME_UPPER" ? small : total - small);
      padsEnd.push(autoPad === "SAME_UPPER" ? total - small : small);
    }
  } else if (autoPad === "VALID") {
    padsBegin = new Array<number>(n).fill(0);
    padsEnd = new Array<number>(n).fill(0);
  } else {
    const pads = attrInts(node, "pads") ?? new Array<number>(2 * n).fill(0);
    padsBegin = pads.slice(0, n);
    padsEnd = pads.slice(n, 2 * n);
  }
  return { kernel: [...kernel], strides, dilations, padsBegin, padsEnd };
}

/**
 * ConvTranspose attributes that scatter a gradient of spatial size `outDims` through the window
 * geometry back onto exactly `inDims`. Where ceil_mode windows overhang the padded input, the end
 * pad is enlarged (the transposed convolution crops it) instead of a negative output_padding.
 */
export function transposeAttrs(
  geo: WindowGeometry,
  inDims: readonly number[],
  outDims: readonly number[],
): { pads: number[]; output_padding: number[]; strides: number[]; dilations: number[] } {
  const end: number[] = [];
  const outputPadding: number[] = [];
  geo.kernel.forEach((k, a) => {
    const span = geo.strides[a]! * (outDims[a]! - 1) + (k - 1) * geo.dilations[a]! + 1;
    const extra = inDims[a]! - (span - geo.padsBegin[a]! - geo.padsEnd[a]!);
    if (extra >= 0) {
      end.push(geo.padsEnd[a]!);
      outputPadding.push(extra);
    } else {
      end.push(geo.padsEnd[a]! - extra);
      outputPadding.push(0);
    }
  });
  return {
    pads: [...geo.padsBegin, ...end],
    output_padding: outputPadding,
    strides: geo.strides,
    dilations: geo.dilations,
  };
}
