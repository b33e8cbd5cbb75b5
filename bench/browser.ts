// The library in Chromium (Debian's, through playwright-core): onnxruntime-web's WASM with 2
// threads (the page is cross-origin isolated, as `camscope serve` makes it), forward pass and
// Grad-CAM at the default layer, per image at batch 1, on the bundled models and on a full-size
// torchvision ResNet-50 when its export is in bench/.models/
// (`/usr/bin/python3 scripts/reference/export_bench_models.py --models resnet50`). Node's times
// with onnxruntime-node and the same threads are measured beside them, in the same run.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine/engine.ts";
import { Explainer } from "../src/explain/explainer.ts";
import { openModel } from "../src/io/models.ts";
import { openSite } from "../scripts/browser/site.ts";
import { benchImages, forwardMsPerImage, timeWithin, type BenchSection } from "./harness.ts";

const EXPORTS = join(dirname(fileURLToPath(import.meta.url)), ".models");
/** The WASM threads of the browser rows (and Node's beside them), unless --threads says. */
const THREADS = 2;

interface PageTimes {
  forwardMs: number;
  gradcamMs: number;
  backend: string;
  layer: string;
}

export const browser: BenchSection = {
  name: "browser",
  title: `Chromium, onnxruntime-web WASM (ms per image, batch 1; Node beside it, same threads)`,
  async run(context) {
    const threads = context.options.threads ?? THREADS;
    const models: { name: string; url: string; card?: string; path: string }[] = [
      ...context.options.models.map((name) => ({
        name,
        url: `/models/${name}.onnx`,
        card: `/models/${name}.json`,
        path: name,
      })),
    ];
    if (existsSync(join(EXPORTS, "resnet50.onnx"))) {
      models.push({
        name: "resnet50",
        url: "/bench-models/resnet50.onnx",
        path: join(EXPORTS, "resnet50.onnx"),
      });
    }
    const site = await openSite([{ prefix: "/bench-models/", dir: EXPORTS }]);
    const engine = new Engine({ threads });
    const rows: string[][] = [];
    try {
      const page = await site.newPage({ bypassCSP: true });
      // tsx compiles this file keeping function names, through a helper (__name) that the
      // functions handed to page.evaluate call but the page lacks.
      await page.addInitScript("globalThis.__name = (f) => f");
      await page.goto(site.libraryUrl);
      for (const model of models) {
        const { repetitions, warmup } = context.options;
        const times: PageTimes = await page.evaluate(
          async ({ model, threads, repetitions, warmup }) => {
            const lib = await import("/lib/index.js" as string);
            lib.setWasmPaths("/ort/");
            const engine = new lib.Engine({ threads });
            const fetchBytes = async (url: string) =>
              new Uint8Array(await (await fetch(url)).arrayBuffer());
            const loaded = await lib.openModelBytes(
              {
                name: model.name,
                bytes: await fetchBytes(model.url),
                ...(model.card ? { card: await (await fetch(model.card)).text() } : {}),
              },
              engine,
            );
            const rt = new lib.ModelRuntime(loaded, engine);
            const dims = rt.input.dims as number[];
            const size = dims.reduce((a: number, b: number) => a * b, 1);
            // A fixed, smooth input: timings do not depend on the values.
            const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i / 97));
            const input = { data, dims };
            // As bench/harness.ts's timeWithin: one untimed run, then runs that fit 1 s.
            const timeWithin = async (fn: () => Promise<unknown>): Promise<number> => {
              await fn();
              let start = performance.now();
              await fn();
              const first = performance.now() - start;
              if (first >= 500) return first;
              const reps = Math.max(1, Math.min(repetitions, Math.floor(1000 / first)));
              for (let i = 0; i < Math.min(warmup - 1, reps >> 1); i++) await fn();
              const samples: number[] = [];
              for (let i = 0; i < reps; i++) {
                start = performance.now();
                await fn();
                samples.push(performance.now() - start);
              }
              samples.sort((a, b) => a - b);
              const mid = samples.length >> 1;
              return samples.length % 2 ? samples[mid]! : (samples[mid - 1]! + samples[mid]!) / 2;
            };
            const session = await rt.session();
            const feeds = { [rt.input.name]: new lib.Tensor("float32", data, dims) };
            const forwardMs = await timeWithin(() => session.run(feeds, [rt.output]));
            const explainer = new lib.Explainer(rt);
            const gradcamMs = await timeWithin(() =>
              explainer.explain(input, { methods: ["gradcam"] }),
            );
            const layer = (await rt.defaultLayer()).name as string;
            const choice = lib.backendChoices().at(-1);
            const backend = `${choice?.backend ?? "?"}, ${lib.wasmThreadCount()} threads`;
            await engine.dispose();
            return { forwardMs, gradcamMs, backend, layer };
          },
          { model, threads, repetitions, warmup },
        );
        const rt = await openModel(model.path, engine);
        const input = benchImages(rt, 1);
        const forward = await forwardMsPerImage(rt, input, context.options);
        const explainer = new Explainer(rt);
        const gradcam = await timeWithin(
          () => explainer.explain(input, { methods: ["gradcam"] }),
          context.options,
        );
        const row = (method: string, browserMs: number, nodeMs: number) => [
          model.name,
          method,
          times.backend,
          browserMs.toFixed(1),
          nodeMs.toFixed(1),
          (browserMs / nodeMs).toFixed(2),
        ];
        rows.push(row("(forward pass)", times.forwardMs, forward.ms));
        rows.push(row(`gradcam at ${times.layer}`, times.gradcamMs, gradcam.medianMs));
      }
    } finally {
      await Promise.all([site.close(), engine.dispose()]);
    }
    if (!models.some((m) => m.name === "resnet50")) {
      rows.push(["(resnet50: run scripts/reference/export_bench_models.py --models resnet50)"]);
    }
    return {
      columns: ["model", "method", "browser backend", "browser ms", "node ms", "browser/node"],
      rows,
      numeric: [3, 4, 5],
    };
  },
};
