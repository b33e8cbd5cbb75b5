// Library misuse, the way a JavaScript caller gets it wrong: out-of-range numbers, wrong types,
// a disposed engine. Every error must be a CamscopeError whose message names the option.
import { join } from "node:path";
import { integratedGradients } from "../../attribution/methods/integrated-gradients.ts";
import { occlusion } from "../../attribution/methods/occlusion.ts";
import { rise } from "../../attribution/methods/rise.ts";
import { saliency } from "../../attribution/methods/gradient.ts";
import { smoothGrad } from "../../attribution/methods/smoothgrad.ts";
import type { AttributionMethod } from "../../attribution/method.ts";
import { explainAttribution } from "../../attribution/pipeline.ts";
import type { CamMethod } from "../../cam/method.ts";
import { scoreCam } from "../../cam/methods/score-cam.ts";
import { explainCam, type CamOptions } from "../../cam/pipeline.ts";
import { Explainer, type ExplainRequest } from "../../explain/explainer.ts";
import { loadDataset } from "../../data/dataset.ts";
import { Engine } from "../../engine/engine.ts";
import { runEvaluation } from "../../evaluate/runner.ts";
import { resolveMetrics } from "../../evaluate/metrics.ts";
import { RunStore } from "../../evaluate/store.ts";
import { preprocess } from "../../image/preprocess.ts";
import { decodeImage } from "../../io/images.ts";
import { openModel } from "../../io/models.ts";
import { chooseMethod, methodNamed, resolveMethodNames } from "../../methods/registry.ts";
import { deletionInsertion } from "../../metrics/deletion-insertion.ts";
import type { ModelRuntime } from "../../runtime/runtime.ts";
import type { TargetOptions } from "../../runtime/targets.ts";
import type { FloatTensor } from "../../tensor/tensor.ts";
import { libCase } from "../harness.ts";
import type { CaseEnv, FuzzCase, Mention } from "../types.ts";

let shared: Promise<{ ctx: ModelRuntime; image: FloatTensor }> | undefined;

/** One engine and tiny-model runtime for the library cases (they must not dispose it). */
function context(env: CaseEnv): Promise<{ ctx: ModelRuntime; image: FloatTensor }> {
  shared ??= (async () => {
    const ctx = await openModel(env.fixtures.tiny, new Engine({ threads: 1 }));
    const pre = preprocess([await decodeImage(env.fixtures.images.star!)], ctx.card.preprocessing);
    return { ctx, image: { data: pre.tensor, dims: pre.dims } };
  })();
  return shared;
}

const anyValue = (v: unknown) => v as never;

/** CAM methods of the registry by name, at their default options, for the CAM pipeline. */
function camMethods(ctx: ModelRuntime, names: readonly string[]): CamMethod[] {
  return resolveMethodNames(names).map(
    (m) => m.create(chooseMethod(m).options, ctx.model).method as CamMethod,
  );
}

/** The CAM pipeline on images: targets resolved by the runtime, then explained. */
async function explainCamImages(
  ctx: ModelRuntime,
  images: FloatTensor,
  options: CamOptions & { target?: TargetOptions },
) {
  return explainCam(ctx, await ctx.targets(images, options.target), options);
}

/** The attribution pipeline on images: targets resolved by the runtime, then attributed. */
async function attributeImages(
  ctx: ModelRuntime,
  images: FloatTensor,
  options: { methods: AttributionMethod[]; target?: TargetOptions } & Record<string, unknown>,
) {
  return explainAttribution(ctx, await ctx.targets(images, options.target), options);
}

export function libraryCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const fails = (
    id: string,
    call: (env: CaseEnv) => unknown,
    mentions: Mention[],
    timeoutMs = 15_000,
  ) => cases.push(libCase(`library/${id}`, "library", call, { error: mentions }, { timeoutMs }));
  const explainWith =
    (
      options: Partial<CamOptions> & { target?: TargetOptions },
      image?: (t: FloatTensor) => FloatTensor,
    ) =>
    async (env: CaseEnv) => {
      const { ctx, image: x } = await context(env);
      return explainCamImages(ctx, image ? image(x) : x, {
        methods: camMethods(ctx, ["gradcam"]),
        ...options,
      });
    };
  const requestWith =
    (request: Partial<ExplainRequest>, image?: (t: FloatTensor) => FloatTensor) =>
    async (env: CaseEnv) => {
      const { ctx, image: x } = await context(env);
      return new Explainer(ctx).explain(image ? image(x) : x, { methods: ["gradcam"], ...request });
    };

  // Engine options.
  for (const chunkSize of [0, -1, 1.5, NaN, "8"]) {
    fails(
      `engine-chunkSize=${String(chunkSize)}`,
      async (env) => {
        const { ctx } = await context(env);
        const engine = new Engine({ chunkSize: anyValue(chunkSize), threads: 1 });
        try {
          const own = await openModel(env.fixtures.tiny, engine);
          const { image } = await context(env);
          const two = {
            data: new Float32Array([...image.data, ...image.data]),
            dims: [2, ...image.dims.slice(1)],
          };
          return await explainCamImages(own, two, { methods: camMethods(ctx, ["gradcam"]) });
        } finally {
          await engine.dispose();
        }
      },
      ["chunkSize"],
    );
  }
  for (const threads of [0, -2, 2.5, "2", 100_000]) {
    fails(
      `engine-threads=${String(threads)}`,
      async (env) => {
        const engine = new Engine({ threads: anyValue(threads) });
        try {
          const ctx = await openModel(env.fixtures.tiny, engine);
          return await ctx.shapes();
        } finally {
          await engine.dispose();
        }
      },
      ["threads"],
    );
  }
  fails(
    "engine-optimization=bogus",
    async (env) => {
      const engine = new Engine({ optimization: anyValue("bogus") });
      try {
        return await (await openModel(env.fixtures.tiny, engine)).shapes();
      } finally {
        await engine.dispose();
      }
    },
    ["optimization"],
  );
  fails(
    "engine-disposed",
    async (env) => {
      const engine = new Engine({ threads: 1 });
      const ctx = await openModel(env.fixtures.tiny, engine);
      const { image } = await context(env);
      const explainer = new Explainer(ctx);
      await explainer.explain(image, { methods: ["gradcam", "scorecam"] });
      await engine.dispose();
      return explainer.explain(image, { methods: ["gradcam", "scorecam"] });
    },
    [/dispos/i],
  );

  // The CAM pipeline's options (explainCam, with targets resolved by the runtime).
  for (const batchSize of [0, -1, NaN, 2.5, "4"]) {
    fails(
      `explain-batchSize=${String(batchSize)}`,
      async (env) => {
        const { ctx, image } = await context(env);
        return explainCamImages(ctx, image, {
          methods: [scoreCam],
          batchSize: anyValue(batchSize),
        });
      },
      ["batchSize"],
    );
  }
  for (const topK of [-1, 0, 1.5, NaN, "2"]) {
    fails(`explain-topK=${String(topK)}`, explainWith({ target: { topK: anyValue(topK) } }), [
      "topK",
    ]);
  }
  for (const classes of [99, -1, 1.5, "star", [1, 2]]) {
    fails(
      `explain-classes=${JSON.stringify(classes)}`,
      explainWith({ target: { classes: anyValue(classes) } }),
      [/class/i],
    );
  }
  fails("explain-score=bogus", explainWith({ target: { score: anyValue("bogus") } }), ["score"]);
  for (const seed of [-1, 1.5, NaN, "3"])
    fails(`explain-seed=${String(seed)}`, explainWith({ seed: anyValue(seed) }), ["seed"]);
  fails("explain-layers=string", explainWith({ layers: anyValue("auto") }), ["layers"]);
  fails("explain-layers=unknown", explainWith({ layers: ["nope"] }), ["nope"]);
  fails("explain-methods=[undefined]", explainWith({ methods: anyValue([undefined]) }), ["method"]);
  fails("explain-methods=[string]", explainWith({ methods: anyValue(["gradcam"]) }), ["method"]);
  fails("explain-methods=missing", explainWith({ methods: anyValue(undefined) }), ["methods"]);
  fails(
    "explain-image-dims",
    explainWith({}, (x) => ({ data: x.data.subarray(0, 3 * 8 * 8), dims: [1, 3, 8, 8] })),
    [/input|dims|16/],
  );
  fails(
    "explain-image-length",
    explainWith({}, (x) => ({ data: x.data.subarray(0, 10), dims: x.dims })),
    [/values|length|dims/],
  );
  fails(
    "explain-image-uint8",
    explainWith({}, (x) => ({ data: anyValue(new Uint8Array(x.data.length)), dims: x.dims })),
    [/float32|Float32Array/i],
  );
  fails(
    "explain-image-undefined",
    explainWith({}, () => anyValue(undefined)),
    [/image|input/i],
  );
  fails(
    "explain-image-nan",
    explainWith({}, (x) => ({ data: new Float32Array(x.data.length).fill(NaN), dims: x.dims })),
    [/nan|finite/i],
  );

  // The explain service's requests (Explainer.explain and stream).
  for (const batchSize of [0, -1, 2.5, "4"]) {
    fails(
      `service-batchSize=${String(batchSize)}`,
      requestWith({ methods: ["scorecam"], batchSize: anyValue(batchSize) }),
      ["batchSize"],
    );
  }
  fails(
    "service-request=null",
    async (env) => {
      const { ctx, image } = await context(env);
      return new Explainer(ctx).explain(image, anyValue(null));
    },
    ["request"],
  );
  fails("service-methods=[undefined]", requestWith({ methods: anyValue([undefined]) }), ["method"]);
  fails("service-methods=unknown", requestWith({ methods: ["gradkam"] }), ["gradkam"]);
  fails(
    "service-option=unknown",
    requestWith({ methods: [{ name: "ig", options: { stpes: 2 } }] }),
    ["stpes"],
  );
  fails("service-option=range", requestWith({ methods: [{ name: "ig", options: { steps: 0 } }] }), [
    "steps",
    /from 1 to/,
  ]);
  fails("service-layers=[]", requestWith({ layers: [] }), ["layers"]);
  fails("service-topK=-1", requestWith({ target: { topK: -1 } }), ["topK"]);
  fails("service-noiseSmooth-samples=0", requestWith({ noiseSmooth: { samples: 0, noise: 0.1 } }), [
    "samples",
  ]);
  fails(
    "service-stream-batchSize=0",
    async (env) => {
      const { ctx } = await context(env);
      const stream = new Explainer(ctx).stream(
        {
          items: [env.fixtures.images.star!],
          load: (path) => decodeImage(path),
          name: (path) => path,
        },
        { methods: ["gradcam"] },
        { batchSize: 0 },
      );
      for await (const batch of stream) void batch;
    },
    ["batchSize"],
  );

  // The attribution pipeline's and pixel methods' options.
  const attribute =
    (method: () => unknown, options: Record<string, unknown> = {}) =>
    async (env: CaseEnv) => {
      const { ctx, image } = await context(env);
      return attributeImages(ctx, image, { methods: [anyValue(method())], ...options });
    };
  fails(
    "attribution-batchSize=0",
    attribute(() => saliency, { batchSize: 0 }),
    ["batchSize"],
  );
  fails(
    "attribution-topK=-1",
    attribute(() => saliency, { target: { topK: -1 } }),
    ["topK"],
  );
  fails(
    "attribution-seed=-1",
    attribute(() => smoothGrad({ samples: 2 }), { seed: -1 }),
    ["seed"],
  );
  for (const [id, make, mention] of [
    ["ig-steps=0", () => integratedGradients({ steps: 0 }), "steps"],
    ["ig-steps=1e9", () => integratedGradients({ steps: 1e9 }), "steps"],
    ["ig-baseline=bogus", () => integratedGradients({ baseline: anyValue("bogus") }), "baseline"],
    ["smoothgrad-samples=0", () => smoothGrad({ samples: 0 }), "samples"],
    ["smoothgrad-noise=-1", () => smoothGrad({ noise: -1 }), "noise"],
    ["occlusion-window=0", () => occlusion({ window: 0 }), "window"],
    ["occlusion-stride>window", () => occlusion({ window: 2, stride: 5 }), "stride"],
    ["occlusion-value=NaN", () => occlusion({ value: NaN }), "value"],
    ["rise-probability=0", () => rise({ probability: 0 }), "probability"],
    ["rise-masks=1.5", () => rise({ masks: 1.5 }), "masks"],
    ["rise-cells=1e6", () => rise({ cells: 1e6, masks: 1 }), "cells"],
  ] as const) {
    fails(`attribution-${id}`, attribute(make), [mention]);
  }

  // Other entry points.
  fails("resolveMethodNames=string", () => resolveMethodNames(anyValue("gradcam")), ["gradcam"]);
  fails("openModel=number", () => openModel(anyValue(123), new Engine()), ["model"]);
  fails("openModel=empty", () => openModel("", new Engine()), ["model"]);
  fails("loadDataset=undefined", () => loadDataset(anyValue(undefined)), [/dataset|path/i]);
  fails("decodeImage=number", () => decodeImage(anyValue(123)), [/image|source/i]);
  fails(
    "preprocess-spec=bogus",
    () => preprocess([{ width: 2, height: 2, data: new Uint8Array(12) }], anyValue("bogus")),
    ["bogus"],
  );
  fails(
    "preprocess-image=bad",
    () => preprocess([anyValue({ width: 2, height: 2, data: new Uint8Array(3) })], "imagenet"),
    [/image|12|3/i],
  );
  fails(
    "deletionInsertion-steps=0",
    async (env) => {
      const { image } = await context(env);
      return deletionInsertion(
        image,
        new Float32Array(256),
        async (_x, count) => new Float32Array(count),
        { steps: 0 },
      );
    },
    ["steps"],
  );
  fails("resolveMetrics=bogus", () => resolveMetrics(["bogus"]), ["bogus"]);
  fails(
    "runEvaluation-batchSize=0",
    async (env) => {
      const { ctx } = await context(env);
      const { store } = await RunStore.open(join(env.scratch, "run"), { x: 1 });
      return runEvaluation(ctx, [{ id: "star", file: env.fixtures.images.star! }], store, {
        methods: [chooseMethod(methodNamed("gradcam"))],
        metrics: [],
        layers: ["auto"],
        target: "top1",
        batchSize: 0,
        seed: 0,
        examples: 0,
      });
    },
    ["batchSize"],
    10_000,
  );
  fails(
    "RunStore-config=string",
    (env) => RunStore.open(join(env.scratch, "run"), anyValue("config")),
    ["config"],
  );
  return cases;
}
