// The measurement behind the Conv rule's choice of input-gradient formulation: for convolution
// shapes of ResNet-50, MobileNetV2, VGG-16 and the bundled models, the gradient computed alone as
//   - ConvTranspose with the forward weights (what the rule emits for strided convolutions),
//   - a stride-1 Conv with flipped, transposed weights (what it emits for stride 1), and for
//     strided convolutions the same Conv over the gradient spread onto the stride-1 grid
//     (nearest Resize times a 0/1 lattice, the rule's former formulation),
//   - for strided convolutions, alternatives without ConvTranspose's col2im: the polyphase
//     decomposition (one Conv with stride^2 phase kernels per input channel, DepthToSpace, Slice),
//     for depthwise ones one depthwise Conv per phase, and the zero spread by DepthToSpace over
//     zero-padded channels before the stride-1 Conv; none measured faster than ConvTranspose
//     (batch 1 and 16, 1 and 2 threads, on a loaded 2-core machine),
// each checked against the first, timed in alternation.
//
//   node --import tsx bench/conv-gradient.ts [--batch 1] [--threads 1] [--reps 20] [--only r50]
//
// Prints per shape and formulation the median wall time and the median CPU time of the process
// (steadier than wall time on a shared machine), in milliseconds.
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../src/compiler/builder.ts";
import { OnnxModel } from "../src/onnx/model.ts";
import { DataType, type ValueInfoProto } from "../src/onnx/proto.ts";
import { sizeOf } from "../src/tensor/tensor.ts";
import { createRng } from "../src/util/random.ts";
import { formatTable } from "./harness.ts";

interface Shape {
  name: string;
  cin: number;
  cout: number;
  size: number;
  kernel: number;
  stride: number;
  pad: number;
  group: number;
}

const SHAPES: Shape[] = [
  {
    name: "resnet50 conv1 7x7/2, 3<-64",
    cin: 3,
    cout: 64,
    size: 224,
    kernel: 7,
    stride: 2,
    pad: 3,
    group: 1,
  },
  {
    name: "resnet50 3x3/2 128",
    cin: 128,
    cout: 128,
    size: 56,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 1,
  },
  {
    name: "resnet50 1x1/2 256->512",
    cin: 256,
    cout: 512,
    size: 56,
    kernel: 1,
    stride: 2,
    pad: 0,
    group: 1,
  },
  {
    name: "resnet50 3x3/1 64",
    cin: 64,
    cout: 64,
    size: 56,
    kernel: 3,
    stride: 1,
    pad: 1,
    group: 1,
  },
  {
    name: "resnet50 1x1/1 256->64",
    cin: 256,
    cout: 64,
    size: 56,
    kernel: 1,
    stride: 1,
    pad: 0,
    group: 1,
  },
  {
    name: "mobilenet_v2 conv0 3x3/2, 3<-32",
    cin: 3,
    cout: 32,
    size: 224,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 1,
  },
  {
    name: "mobilenet_v2 depthwise 3x3/2 96",
    cin: 96,
    cout: 96,
    size: 112,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 96,
  },
  {
    name: "mobilenet_v2 depthwise 3x3/2 144",
    cin: 144,
    cout: 144,
    size: 56,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 144,
  },
  {
    name: "mobilenet_v2 depthwise 3x3/1 144",
    cin: 144,
    cout: 144,
    size: 56,
    kernel: 3,
    stride: 1,
    pad: 1,
    group: 144,
  },
  {
    name: "grouped 3x3/2 256, 32 groups",
    cin: 256,
    cout: 256,
    size: 56,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 32,
  },
  {
    name: "synth-resnet conv0 3x3/2, 3<-24",
    cin: 3,
    cout: 24,
    size: 128,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 1,
  },
  { name: "vgg16 3x3/1 64", cin: 64, cout: 64, size: 224, kernel: 3, stride: 1, pad: 1, group: 1 },
];

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "1" },
    threads: { type: "string", default: "1" },
    reps: { type: "string", default: "20" },
    only: { type: "string" },
  },
});
const batch = Number(values.batch);
const threads = Number(values.threads);
const reps = Number(values.reps);

const outSize = (s: Shape): number => Math.floor((s.size + 2 * s.pad - s.kernel) / s.stride) + 1;

function flippedTransposed(w: Float32Array, s: Shape): Float32Array {
  const cinPerGroup = s.cin / s.group;
  const coutPerGroup = s.cout / s.group;
  const area = s.kernel * s.kernel;
  const out = new Float32Array(w.length);
  for (let g = 0; g < s.group; g++)
    for (let o = 0; o < coutPerGroup; o++)
      for (let i = 0; i < cinPerGroup; i++) {
        const src = ((g * coutPerGroup + o) * cinPerGroup + i) * area;
        const dst = ((g * cinPerGroup + i) * coutPerGroup + o) * area;
        for (let p = 0; p < area; p++) out[dst + p] = w[src + area - 1 - p]!;
      }
  return out;
}

type Formulation = (b: GraphBuilder, dy: string, s: Shape, w: Float32Array) => string | undefined;

const FORMULATIONS: Record<string, Formulation> = {
  convTranspose: (b, dy, s, w) => {
    const o = outSize(s);
    const extra = s.size - (s.stride * (o - 1) + s.kernel - 2 * s.pad);
    return b.op("ConvTranspose", [dy, b.floats(w, [s.cout, s.cin / s.group, s.kernel, s.kernel])], {
      strides: [s.stride, s.stride],
      pads: [s.pad, s.pad, s.pad, s.pad],
      output_padding: [extra, extra],
      group: s.group,
      kernel_shape: [s.kernel, s.kernel],
    });
  },
  flippedConv: (b, dy, s, w) => {
    const o = outSize(s);
    let spread = dy;
    let back = s.size + s.pad - o * s.stride;
    if (s.stride > 1) {
      const { stride } = s;
      const repeated = b.op(
        "Resize",
        [dy, b.floats([], [0]), b.floats([1, 1, stride, stride], [4])],
        {
          mode: "nearest",
          coordinate_transformation_mode: "asymmetric",
          nearest_mode: "floor",
        },
      );
      const side = o * stride;
      const lattice = new Float32Array(side * side);
      for (let i = 0; i < side; i += stride)
        for (let j = 0; j < side; j += stride) lattice[i * side + j] = 1;
      spread = b.mul(repeated, b.floats(lattice, [1, 1, side, side]));
      if (back < 0) {
        spread = b.slice(spread, [0, 0], [side + back, side + back], [2, 3]);
        back = 0;
      }
    }
    const front = s.kernel - 1 - s.pad;
    const weight = b.floats(flippedTransposed(w, s), [s.cin, s.cout / s.group, s.kernel, s.kernel]);
    return b.op("Conv", [spread, weight], {
      group: s.group,
      pads: [front, front, back, back],
      kernel_shape: [s.kernel, s.kernel],
    });
  },
  polyphaseSplit: (b, dy, s, w) => {
    // Depthwise only: one depthwise Conv per phase (ONNX Runtime's fast depthwise path), phases
    // concatenated in DepthToSpace's DCR order.
    if (s.stride === 1 || s.group !== s.cin || s.cin !== s.cout) return undefined;
    const { stride: st, kernel: k, pad: p, size: h, cin: c } = s;
    const o = outSize(s);
    const rows = Math.ceil((p + h) / st);
    const back = Math.max(0, rows - o);
    const parts: string[] = [];
    for (let r1 = 0; r1 < st; r1++)
      for (let r2 = 0; r2 < st; r2++) {
        const l1 = Math.ceil((k - r1) / st);
        const l2 = Math.ceil((k - r2) / st);
        if (l1 <= 0 || l2 <= 0) return undefined;
        const weight = new Float32Array(c * l1 * l2);
        for (let ch = 0; ch < c; ch++)
          for (let j1 = 0; j1 < l1; j1++)
            for (let j2 = 0; j2 < l2; j2++)
              weight[(ch * l1 + j1) * l2 + j2] =
                w[ch * k * k + (r1 + st * (l1 - 1 - j1)) * k + (r2 + st * (l2 - 1 - j2))]!;
        parts.push(
          b.op("Conv", [dy, b.floats(weight, [c, 1, l1, l2])], {
            group: c,
            pads: [l1 - 1, l2 - 1, back, back],
            kernel_shape: [l1, l2],
          }),
        );
      }
    const spread = b.op("DepthToSpace", [b.op("Concat", parts, { axis: 1 })], {
      blocksize: st,
      mode: "DCR",
    });
    return b.slice(spread, [p, p], [p + h, p + h], [2, 3]);
  },
  spreadD2S: (b, dy, s, w) => {
    // The zero spread by DepthToSpace over the gradient padded with zero channels, then the
    // stride-1 Conv with flipped, transposed weights.
    if (s.stride === 1) return undefined;
    const { stride: st, kernel: k, pad: p, size: h } = s;
    const o = outSize(s);
    const padded = b.op("Pad", [dy, b.int64s([0, 0, 0, 0, 0, s.cout * (st * st - 1), 0, 0])]);
    let spread = b.op("DepthToSpace", [padded], { blocksize: st, mode: "DCR" });
    let back = h + p - o * st;
    if (back < 0) {
      spread = b.slice(spread, [0, 0], [o * st + back, o * st + back], [2, 3]);
      back = 0;
    }
    const front = k - 1 - p;
    const weight = b.floats(flippedTransposed(w, s), [s.cin, s.cout / s.group, k, k]);
    return b.op("Conv", [spread, weight], {
      group: s.group,
      pads: [front, front, back, back],
      kernel_shape: [k, k],
    });
  },
  polyphase: (b, dy, s, w) => {
    if (s.stride === 1) return undefined;
    const { stride: st, kernel: k, pad: p, size: h } = s;
    const o = outSize(s);
    const taps = Math.ceil(k / st);
    const rows = Math.ceil((p + h) / st);
    const back = Math.max(0, rows - o);
    const cinPerGroup = s.cin / s.group;
    const coutPerGroup = s.cout / s.group;
    const phases = st * st;
    const weight = new Float32Array(s.cin * phases * coutPerGroup * taps * taps);
    for (let g = 0; g < s.group; g++)
      for (let ci = 0; ci < cinPerGroup; ci++)
        for (let r1 = 0; r1 < st; r1++)
          for (let r2 = 0; r2 < st; r2++)
            for (let co = 0; co < coutPerGroup; co++)
              for (let j1 = 0; j1 < taps; j1++)
                for (let j2 = 0; j2 < taps; j2++) {
                  const t1 = r1 + st * (taps - 1 - j1);
                  const t2 = r2 + st * (taps - 1 - j2);
                  if (t1 >= k || t2 >= k) continue;
                  const out = ((g * cinPerGroup + ci) * phases + r1 * st + r2) * coutPerGroup + co;
                  const src = ((g * coutPerGroup + co) * cinPerGroup + ci) * k * k + t1 * k + t2;
                  weight[(out * taps + j1) * taps + j2] = w[src]!;
                }
    const z = b.op("Conv", [dy, b.floats(weight, [s.cin * phases, coutPerGroup, taps, taps])], {
      group: s.group,
      pads: [taps - 1, taps - 1, back, back],
      kernel_shape: [taps, taps],
    });
    const spread = b.op("DepthToSpace", [z], { blocksize: st, mode: "CRD" });
    return b.slice(spread, [p, p], [p + h, p + h], [2, 3]);
  },
};

function valueInfo(name: string, dims: number[]): ValueInfoProto {
  const dim = [{ dim_param: "N" }, ...dims.map((d) => ({ dim_value: d }))];
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

function gradientModel(s: Shape, formulation: Formulation, w: Float32Array): OnnxModel | undefined {
  const b = new GraphBuilder(13, "bench");
  const dx = formulation(b, "dy", s, w);
  if (dx === undefined) return undefined;
  const o = outSize(s);
  return new OnnxModel(
    {
      ir_version: 8,
      opset_import: [{ domain: "", version: 13 }],
      graph: {
        name: "conv-gradient",
        node: [
          ...b.nodes,
          { op_type: "Identity", name: "out", input: [dx], output: ["dx"], attribute: [] },
        ],
        initializer: b.initializers,
        input: [valueInfo("dy", [s.cout, o, o])],
        output: [valueInfo("dx", [s.cin, s.size, s.size])],
        value_info: [],
      },
    },
    s.name,
  );
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1]!;
const rows: string[][] = [];
for (const shape of SHAPES) {
  if (values.only && !shape.name.includes(values.only)) continue;
  const rng = createRng(3);
  const w = Float32Array.from(
    { length: shape.cout * (shape.cin / shape.group) * shape.kernel ** 2 },
    () => rng.normal(),
  );
  const o = outSize(shape);
  const dims = [batch, shape.cout, o, o];
  const dy = new ort.Tensor(
    "float32",
    Float32Array.from({ length: sizeOf(dims) }, () => rng.normal()),
    dims,
  );
  const sessions: [string, ort.InferenceSession][] = [];
  for (const [name, f] of Object.entries(FORMULATIONS)) {
    const model = gradientModel(shape, f, w);
    if (!model) continue;
    const session = await ort.InferenceSession.create(model.toBytes(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    });
    sessions.push([
      shape.stride > 1 && name === "flippedConv" ? "spread + flippedConv" : name,
      session,
    ]);
  }
  let reference: Float32Array | undefined;
  for (const [name, session] of sessions) {
    const dx = (await session.run({ dy })).dx!.data as Float32Array;
    reference ??= dx;
    let err = 0;
    let max = 0;
    for (let i = 0; i < dx.length; i++) {
      err = Math.max(err, Math.abs(dx[i]! - reference[i]!));
      max = Math.max(max, Math.abs(reference[i]!));
    }
    if (err > 1e-4 * max) throw new Error(`${shape.name}: ${name} differs by ${err} (max ${max})`);
  }
  const wall = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let r = 0; r < reps; r++) {
    for (const [name, session] of sessions) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await session.run({ dy });
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      wall.set(name, [...(wall.get(name) ?? []), t]);
      cpu.set(name, [...(cpu.get(name) ?? []), (c.user + c.system) / 1000]);
    }
  }
  for (const [name, session] of sessions) {
    rows.push([
      shape.name,
      name,
      median(wall.get(name)!).toFixed(2),
      median(cpu.get(name)!).toFixed(2),
    ]);
    await session.release();
  }
}
console.log(
  `conv input gradient, batch ${batch}, ${threads} threads, median of ${reps} alternating runs`,
);
console.log(
  formatTable({ columns: ["shape", "formulation", "wall ms", "cpu ms"], rows, numeric: [2, 3] }),
);
