// The zoo (src/models/zoo, scripts/reference/make_zoo.py): reduced torchvision classifiers exported
// the way real exporters write them (opsets 7 to 21, Softmax and [N, C, 1, 1] heads, fixed batch,
// NHWC, float16, external data, Caffe2 style). Every export goes through model intake as a user's
// file does; then its logits and the compiled input and activation gradients must equal float64
// PyTorch within 1e-4 (samples the fixture flags as near a kink are counted, not compared), and
// every method family must run on it and give finite maps. The exports camscope must refuse are
// refused with the shape or outputs named.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Explainer } from "../../explain/explainer.ts";
import { Backward, oneHotSeed } from "../../runtime/backward.ts";
import { exactGradient } from "../../compiler/rules/index.ts";
import { Engine, Tensor } from "../../engine/engine.ts";
import { floats, rowRelative } from "../../testing/fixture-encoding.ts";
import { type ModelRuntime } from "../../runtime/runtime.ts";
import { openModel } from "../../io/models.ts";

const ZOO = join(dirname(fileURLToPath(import.meta.url)), "..", "zoo");
const BOUND = 1e-4;

interface Reference {
  inputData?: string;
  classes: number[];
  logits: string;
  gradInput: string;
  gradActivation: string;
  unstable: boolean[];
}

interface ZooExport {
  file: string;
  variant: string;
  opset: number;
  layout: string;
  batch: number | null;
  head: string;
  outputs: string[];
  outputShape: string;
  dtype: string;
  reference?: string;
}

interface ZooMember extends Reference {
  member: string;
  inputData: string;
  input: { dims: number[] };
  act: { name: string; dims: number[] };
  exports: ZooExport[];
  references?: Record<string, Reference>;
}

const members = readdirSync(ZOO)
  .filter((f) => f.endsWith(".zoo.json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(ZOO, f), "utf8")) as ZooMember);

const engine = new Engine();
after(() => engine.dispose());

/** Fast settings for the perturbation and path methods: they must run, not converge. */
const PIXEL_OPTIONS = {
  ig: { steps: 4 },
  smoothgrad: { samples: 2 },
  "smoothgrad-sq": { samples: 2 },
  vargrad: { samples: 2 },
  occlusion: { window: 8, stride: 4 },
  rise: { masks: 8, cells: 4 },
};

/** What intake must find behind each kind of exported head. */
const HEADS: Record<string, string> = {
  logits: "logits",
  nchw11: "logits",
  n1c: "logits",
  softmax: "softmax",
  "softmax-flatten": "softmax",
  "nchw11-softmax": "softmax",
  logsoftmax: "logsoftmax",
};

function assertFinite(data: Float32Array, what: string): void {
  const bad = data.findIndex((v) => !Number.isFinite(v));
  assert.equal(bad, -1, `${what}: non-finite value at ${bad}`);
}

/** Per-row relative errors, skipping rows the fixture flags; returns the largest compared. */
function compare(
  actual: Float32Array,
  expected: Float32Array,
  ref: Reference,
  what: string,
): number {
  const errors = rowRelative(actual, expected, ref.classes.length);
  let worst = 0;
  errors.forEach((e, i) => {
    if (ref.unstable[i]) return;
    assert.ok(e <= BOUND, `${what}, sample ${i}: relative error ${e.toExponential(2)} > ${BOUND}`);
    worst = Math.max(worst, e);
  });
  return worst;
}

async function checkReference(ctx: ModelRuntime, zoo: ZooMember, ref: Reference): Promise<string> {
  const x = { data: floats(ref.inputData ?? zoo.inputData), dims: zoo.input.dims };
  const session = await ctx.session();
  const out = await session.run({ [ctx.input.name]: new Tensor("float32", x.data, x.dims) }, [
    ctx.output,
  ]);
  const logits = compare(out[ctx.output]!.data as Float32Array, floats(ref.logits), ref, "logits");
  const shapes = await ctx.shapes();
  const backward = new Backward(ctx.engine, ctx.model, shapes, ctx.input.name);
  const result = await backward.run(
    { wrt: [ctx.input.name, zoo.act.name], output: ctx.output, ruleSet: exactGradient },
    x,
    oneHotSeed(ref.classes, shapes.get(ctx.output)![1]!),
  );
  const input = compare(
    result.grads.get(ctx.input.name)!.data,
    floats(ref.gradInput),
    ref,
    "input gradient",
  );
  const act = compare(
    result.grads.get(zoo.act.name)!.data,
    floats(ref.gradActivation),
    ref,
    `${zoo.act.name} gradient`,
  );
  const skipped = ref.unstable.filter(Boolean).length;
  return `logits ${logits.toExponential(1)}, input ${input.toExponential(1)}, act ${act.toExponential(1)}${skipped ? `, ${skipped} flagged sample(s) not compared` : ""}`;
}

async function runEveryMethod(ctx: ModelRuntime, zoo: ZooMember): Promise<string> {
  const images = { data: floats(zoo.inputData), dims: zoo.input.dims };
  const explainer = new Explainer(ctx);
  // CAM itself is defined only for a head of global average pooling and one linear layer.
  const cams = await explainer.explain(images, { methods: ["all"], batchSize: 64 });
  const skipped = cams.skipped;
  for (const s of skipped) assert.match(s.why, /^CAM needs global average pooling/);
  for (const r of cams.results) assertFinite(r.map.data, `${r.method.name} map`);
  // The probability score differentiates through a Softmax appended to the logits.
  const probability = await explainer.explain(images, {
    methods: ["gradcam"],
    target: { score: "probability" },
  });
  assertFinite(probability.results[0]!.map.data, "Grad-CAM of the probability");
  const pixels = await explainer.explain(images, {
    methods: ["pixel"],
    options: PIXEL_OPTIONS,
    batchSize: 64,
  });
  for (const r of pixels.results) assertFinite(r.raw[0]!.data, `${r.method.name} attribution`);
  const layer = cams.layers[0]!;
  const without = skipped.length ? " (CAM itself does not apply: no GAP + linear head)" : "";
  return `${cams.results.length} CAM methods at ${layer.name} (${layer.layout} ${layer.dims.slice(1).join("x")})${without}, ${pixels.results.length} pixel methods`;
}

for (const zoo of members) {
  describe(`zoo: ${zoo.member}`, () => {
    for (const exp of zoo.exports) {
      const path = join(ZOO, exp.file);
      const label = `${exp.variant} (opset ${exp.opset}, ${exp.dtype}, ${exp.layout}, batch ${exp.batch ?? "N"}, head ${exp.head})`;
      if (exp.head === "map-output") {
        test(`${label}: refused, naming the output's shape`, async () => {
          await assert.rejects(openModel(path, engine), (e: Error & { code?: string }) => {
            assert.equal(e.code, "UNSUPPORTED_MODEL");
            assert.match(e.message, new RegExp(`output "${exp.outputs[0]}" has shape \\[N, `));
            return true;
          });
        });
        continue;
      }
      if (exp.head === "two-outputs") {
        test(`${label}: refused without a choice of output, explained with one`, async () => {
          await assert.rejects(openModel(path, engine), (e: Error & { code?: string }) => {
            assert.equal(e.code, "MODEL_LOAD");
            assert.match(e.message, new RegExp(`has 2 outputs \\(${exp.outputs.join(", ")}\\)`));
            return true;
          });
          const ctx = await openModel(path, engine, { output: exp.outputs[0]! });
          assert.equal(ctx.intake.classes, 10);
        });
        continue;
      }
      test(`${label}: intake, logits and gradients equal PyTorch, every method runs`, async (t) => {
        const ctx = await openModel(path, engine);
        const r = ctx.intake;
        t.diagnostic(r.changes.join(" | ") || "taken as exported");
        assert.equal(r.opset.exported, exp.opset);
        assert.ok(r.opset.running >= 13);
        assert.equal(r.layout, exp.layout);
        assert.equal(r.precision, exp.dtype === "float16" ? "float16" : "float32");
        assert.equal(r.batch.kind === "dynamic" ? null : r.batch.exported, exp.batch);
        assert.equal(r.head, HEADS[exp.head]);
        const ref = exp.reference ? zoo.references![exp.reference]! : zoo;
        t.diagnostic(await checkReference(ctx, zoo, ref));
        t.diagnostic(await runEveryMethod(ctx, zoo));
      });
    }
  });
}
