// The browser builds, with esbuild:
//   - the library as one ES module, dist/browser/index.js (types: dist/browser/index.d.ts from
//     tsc), with onnxruntime-web left to the page that imports it;
//   - the viewer, dist/viewer/: the page, its app and worker bundles and the list of bundled
//     models and samples, which `camscope serve` serves beside the package's models/ and samples/
//     and onnxruntime-web's WASM (28 MB, so not in the npm package); with --static, a folder that
//     holds those too, which any static host can publish.
// Both swap the Node-only modules for their browser counterparts (BROWSER_MODULES) and fail on
// anything else that needs Node: a node: import, a Node built-in, sharp or onnxruntime-node.
//
//   node --import tsx scripts/browser/build.ts [library] [viewer] [--out dir] [--dev] [--static]
import { builtinModules } from "node:module";
import { copyFileSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Node-only modules and the module the browser build uses in their place, as paths from the
 * repository root: only the ONNX Runtime binding (file access lives in src/io/, which the
 * browser's import graph never reaches).
 */
export const BROWSER_MODULES: Readonly<Record<string, string>> = {
  "src/engine/ort-node.ts": "src/engine/ort-web.ts",
};

/** Packages that only run in Node. */
const NODE_PACKAGES = ["sharp", "onnxruntime-node"];
const BUILTINS = new Set(builtinModules);

/** onnxruntime-web's WASM build with WebGPU (JSEP), which the viewer loads from ort/. */
export const ORT_FILES = ["ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm"];
const ORT_DIST = join(ROOT, "node_modules", "onnxruntime-web", "dist");

const RESOLVING = Symbol("resolving a built-in the default way");

/** Swaps BROWSER_MODULES and refuses what needs Node, naming the module that imports it. */
export const browserPlatform: esbuild.Plugin = {
  name: "camscope-browser-platform",
  setup(build) {
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(".")) return undefined;
      const from = relative(ROOT, resolve(args.resolveDir, args.path)).split("\\").join("/");
      const swap = BROWSER_MODULES[from];
      return swap ? { path: join(ROOT, swap) } : undefined;
    });
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === RESOLVING || args.kind === "entry-point") return undefined;
      const bare = args.path.replace(/^node:/, "").split("/")[0]!;
      const nodeOnly =
        args.path.startsWith("node:") ||
        BUILTINS.has(bare) ||
        NODE_PACKAGES.some((p) => args.path === p || args.path.startsWith(`${p}/`));
      if (!nodeOnly) return undefined;
      if (BUILTINS.has(args.path)) {
        // A package may map a built-in away for browsers ("browser": { "fs": false }, as
        // protobufjs does for the code path that reads .proto files): esbuild then resolves it
        // (to an empty module); unmapped, a built-in does not resolve for the browser.
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: RESOLVING,
        });
        if (resolved.errors.length === 0) return undefined;
      }
      const importer = relative(ROOT, args.importer) || args.importer;
      return {
        errors: [
          {
            text: `${importer} imports "${args.path}", which needs Node: the browser build cannot include it (give it a browser counterpart in BROWSER_MODULES)`,
          },
        ],
      };
    });
  },
};

const COMMON: esbuild.BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  // onnxruntime-web's build that loads its WASM glue from env.wasm.wasmPaths: its threads then
  // start from ort-wasm-*.mjs, not from the bundle that imported it.
  conditions: ["onnxruntime-web-use-extern-wasm"],
  plugins: [browserPlatform],
  metafile: true,
  logLevel: "silent",
};

/**
 * The library's browser bundle; onnxruntime-web stays an import the page resolves. Source maps
 * only with `sourcemap` (--dev): they would double the npm package's share of the browser build.
 */
export async function buildLibrary(
  outdir = join(ROOT, "dist", "browser"),
  options: { sourcemap?: boolean } = {},
): Promise<esbuild.Metafile> {
  const result = await esbuild.build({
    ...COMMON,
    entryPoints: { index: join(ROOT, "src", "browser", "index.ts") },
    outdir,
    ...(options.sourcemap ? { sourcemap: "linked" as const } : {}),
    external: ["onnxruntime-web"],
  });
  return result.metafile!;
}

/** What the viewer lists as bundled: the models (with their cards) and the sample images. */
export interface BundledManifest {
  models: string[];
  samples: string[];
}

/** Options of {@link buildViewer}. */
export interface ViewerBuildOptions {
  /** Minify the bundles (default true); false also writes source maps. */
  minify?: boolean;
  /**
   * Copy the bundled models, the samples and onnxruntime-web's WASM in as well, so the folder
   * is the whole site (for a static host); otherwise `camscope serve` serves them.
   */
  static?: boolean;
}

/** The viewer in `outdir` (emptied first). */
export async function buildViewer(
  outdir = join(ROOT, "dist", "viewer"),
  options: ViewerBuildOptions = {},
): Promise<esbuild.Metafile> {
  rmSync(outdir, { recursive: true, force: true });
  const minify = options.minify ?? true;
  const result = await esbuild.build({
    ...COMMON,
    entryPoints: {
      app: join(ROOT, "viewer", "app", "main.ts"),
      worker: join(ROOT, "viewer", "worker", "main.ts"),
    },
    outdir,
    minify,
    ...(minify ? {} : { sourcemap: "linked" as const }),
  });
  for (const file of ["index.html", "style.css"]) {
    copyFileSync(join(ROOT, "viewer", file), join(outdir, file));
  }
  const models = readdirSync(join(ROOT, "models")).filter((f) => /\.(onnx|json)$/.test(f));
  const samples = readdirSync(join(ROOT, "samples")).filter((f) => f.endsWith(".png"));
  const manifest: BundledManifest = {
    models: models.filter((f) => f.endsWith(".onnx")).map((f) => f.replace(/\.onnx$/, "")),
    samples: samples.sort(),
  };
  writeFileSync(join(outdir, "bundled.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  if (options.static) {
    const copy = (from: string, to: string, files: string[]) => {
      mkdirSync(join(outdir, to), { recursive: true });
      for (const f of files) copyFileSync(join(from, f), join(outdir, to, f));
    };
    copy(ORT_DIST, "ort", ORT_FILES);
    copy(join(ROOT, "models"), "models", models);
    copy(join(ROOT, "samples"), "samples", samples);
  }
  return result.metafile!;
}

/** Every input of a build, as paths from the repository root. */
export function bundledInputs(metafile: esbuild.Metafile): string[] {
  return Object.keys(metafile.inputs).map((p) =>
    relative(ROOT, resolve(ROOT, p)).split("\\").join("/"),
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      dev: { type: "boolean", default: false },
      static: { type: "boolean", default: false },
    },
  });
  const targets = positionals.length > 0 ? positionals : ["library", "viewer"];
  for (const target of targets) {
    const started = performance.now();
    if (target === "library") await buildLibrary(values.out, { sourcemap: values.dev });
    else if (target === "viewer") {
      await buildViewer(values.out, { minify: !values.dev, static: values.static });
    } else throw new Error(`Unknown build "${target}" (library, viewer)`);
    const where = values.out ?? join("dist", target === "library" ? "browser" : "viewer");
    // To stderr: `npm pack --json` runs this build (prepack) and its stdout must stay JSON.
    console.error(`built ${target} into ${where} in ${Math.round(performance.now() - started)} ms`);
  }
}

// Run as a script (not imported): argv[1] through any symbolic link, as import.meta.url is.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    const failure = error as { errors?: { text: string }[]; message?: string };
    for (const e of failure.errors ?? [{ text: String(failure.message ?? error) }]) {
      console.error(`error: ${e.text}`);
    }
    process.exit(1);
  });
}
