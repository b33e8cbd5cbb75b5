import { attrInts } from "../../onnx/attributes.ts";
import { tensorNumbers } from "../../onnx/tensor.ts";
import type { OpRule, RuleContext } from "../rule.ts";

/** Ends at or beyond this are "to the end of the axis" whatever the batch size. */
const OPEN_END = 2 ** 31 - 1;

/** starts, ends, axes and steps as attributes (before opset 10) or constant inputs. */
function sliceArgs(ctx: RuleContext): {
  starts: number[];
  ends: number[];
  axes?: number[];
  steps?: number[];
} {
  const { node, b } = ctx;
  if (b.opset < 10) {
    const axes = attrInts(node, "axes");
    return {
      starts: attrInts(node, "starts") ?? [],
      ends: attrInts(node, "ends") ?? [],
      ...(axes ? { axes } : {}),
    };
  }
  const read = (k: number): number[] | undefined => {
    const name = node.input[k];
    if (!name) return undefined;
    const t = ctx.constant(name);
    if (!t) {
      throw ctx.unsupported(
        "its starts, ends, axes or steps are computed at run time from the data; camscope needs constants",
      );
    }
    return tensorNumbers(t);
  };
  const [starts, ends, axes, steps] = [read(1) ?? [], read(2) ?? [], read(3), read(4)];
  return { starts, ends, ...(axes ? { axes } : {}), ...(steps ? { steps } : {}) };
}

/**
 * The gradient places dY back at the sliced positions and zeros elsewhere. Per sliced axis with n
 * taken elements: a negative step is reversed into a positive one (the same positions read from
 * the lowest up), a step s > 1 spreads the elements s apart by appending s - 1 zeros after each
 * one, and a final zero pad (or crop of the trailing zeros) puts the block at the lowest position.
 */
export const slice: OpRule = {
  op: "Slice",
  rule: (ctx) => {
    const { b, node } = ctx;
    const x = node.input[0]!;
    const xDims = ctx.dims(x);
    const rank = xDims.length;
    const args = sliceArgs(ctx);
    const axes = (args.axes ?? args.starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
    const pads = new Array<number>(2 * rank).fill(0);
    const current = [...ctx.dims(node.output[0]!)];
    const batchAxes = ctx.batchAxes(x);
    let g = ctx.gradOut()!;
    for (let i = 0; i < axes.length; i++) {
      const axis = axes[i]!;
      const step = args.steps?.[i] ?? 1;
      const rawStart = args.starts[i]!;
      const rawEnd = args.ends[i]!;
      if (batchAxes.includes(axis)) {
        // Only the whole batch axis keeps samples independent.
        if (step === 1 && rawStart === 0 && rawEnd >= OPEN_END) continue;
        throw ctx.unsupported(
          "it slices the batch axis; camscope needs samples to stay independent",
        );
      }
      const size = xDims[axis]!;
      const clamp = (v: number, lo: number, hi: number) =>
        Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
      const start = step > 0 ? clamp(rawStart, 0, size) : clamp(rawStart, 0, size - 1);
      const end = step > 0 ? clamp(rawEnd, 0, size) : clamp(rawEnd, -1, size - 1);
      const n = Math.max(0, Math.ceil((end - start) / step));
      if (n === 0) {
        ctx.setGrad(0, b.zerosLike(x));
        return;
      }
      const stride = Math.abs(step);
      const lowest = step > 0 ? start : start + (n - 1) * step;
      if (step < 0) {
        g = b.op("Gather", [g, b.int64s(Array.from({ length: n }, (_, k) => n - 1 - k))], { axis });
      }
      let span = n;
      if (stride > 1 && n > 1) {
        const spread = new Array<number>(2 * (rank + 1)).fill(0);
        spread[rank + 1 + axis + 1] = stride - 1;
        const padded = b.padZeros(b.unsqueeze(g, [axis + 1]), spread);
        span = n * stride;
        current[axis] = span;
        // Axes before the merged pair keep their index (0 copies them, the batch included); one
        // batch axis after it is left to -1.
        const target = current.map((d, a) => (a < axis ? 0 : batchAxes.includes(a) ? -1 : d));
        g = b.op("Reshape", [padded, b.int64s(target)]);
      }
      pads[axis] = lowest;
      pads[rank + axis] = size - lowest - span;
    }
    ctx.setGrad(0, b.padZeros(g, pads));
  },
};
