// Packs camscope as `npm publish` would and uses the tarball as a stranger would: installs it into
// an empty project with production dependencies only, offline from the npm cache, runs the CLI on
// a bundled sample, imports the library from an ES module and type-checks a TypeScript file
// against the shipped declarations. .ci/run calls it after `npm test` (right after `npm ci`, so
// the cache holds every production dependency):
//
//   node --import tsx scripts/check-package.ts [--keep]      (--keep leaves the temp folder)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// 4.5 MB today: 3.3 MB the three bundled models, 0.8 MB the browser library and viewer (without
// source maps; onnxruntime-web's WASM stays in that package); the budget catches fixtures, test
// models or sources slipping in (src/compiler/fixtures alone is 6 MB).
const MAX_PACKED_BYTES = 5_000_000;
const REQUIRED = [
  "bin/camscope.js",
  "dist/index.js",
  "dist/index.d.ts",
  "dist/index.js.map",
  "dist/cli/main.js",
  "dist/labels/imagenet.json",
  "dist/browser/index.js",
  "dist/browser/index.d.ts",
  "dist/viewer/index.html",
  "dist/viewer/worker.js",
  "models/synth-resnet.onnx",
  "models/synth-resnet.json",
  "samples/star.png",
  "package.json",
  "README.md",
];
/** What a consumer never needs: tests, fixtures, test helpers, the sources, the model zoo. */
const FORBIDDEN = /(^|\/)(src|fixtures|testing|zoo)\/|\.test\.|\.tsbuildinfo$/;

interface PackResult {
  filename: string;
  integrity: string;
  version: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [key: string]: unknown;
}

function fail(message: string): never {
  throw new Error(`check-package: ${message}`);
}

function run(command: string, args: string[], cwd: string, env = process.env): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    fail(`${command} ${args.join(" ")} failed in ${cwd}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

function timed<T>(what: string, f: () => T): T {
  const start = performance.now();
  const result = f();
  console.log(`${what}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

function checkContents(pack: PackResult): void {
  const paths = new Set(pack.files.map((f) => f.path));
  const missing = REQUIRED.filter((p) => !paths.has(p));
  if (missing.length > 0) fail(`the tarball lacks ${missing.join(", ")}`);
  const forbidden = [...paths].filter((p) => FORBIDDEN.test(p));
  if (forbidden.length > 0) fail(`the tarball holds files consumers never need: ${forbidden}`);
  if (pack.size > MAX_PACKED_BYTES) {
    fail(`the tarball is ${mb(pack.size)}, over the ${mb(MAX_PACKED_BYTES)} budget`);
  }
  const byFolder = new Map<string, { files: number; bytes: number }>();
  for (const { path, size } of pack.files) {
    const folder = path.includes("/") ? path.slice(0, path.indexOf("/") + 1) : "(top level)";
    const entry = byFolder.get(folder) ?? { files: 0, bytes: 0 };
    entry.files += 1;
    entry.bytes += size;
    byFolder.set(folder, entry);
  }
  for (const [folder, { files, bytes }] of byFolder) {
    console.log(`  ${folder.padEnd(12)} ${String(files).padStart(4)} files ${mb(bytes)}`);
  }
}

/**
 * The consumer project: it depends on the tarball alone, and its lockfile pins the production
 * dependencies to camscope's package-lock.json, the versions `npm ci` just put in the cache.
 * Without a lockfile npm 11 asks for full registry documents, which `npm ci` does not cache, and
 * an offline install fails.
 */
function writeConsumer(dir: string, pack: PackResult): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const tarball = `file:../${pack.filename}`;
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { camscope: tarball } },
    "node_modules/camscope": {
      version: pack.version,
      resolved: tarball,
      integrity: pack.integrity,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== "" && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  mkdirSync(dir);
  const manifest = { name: "consumer", private: true, type: "module" };
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ ...manifest, dependencies: { camscope: tarball } }, null, 2),
  );
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

/** A .npy file's shape, from its header. */
function npyShape(path: string): number[] {
  const header = readFileSync(path).subarray(10, 128).toString("latin1");
  const match = /'shape': \(([^)]*)\)/.exec(header) ?? fail(`${path} has no .npy header`);
  return match[1]!
    .split(",")
    .filter((s) => s.trim() !== "")
    .map(Number);
}

function checkCli(consumer: string, env: NodeJS.ProcessEnv): void {
  const sample = "node_modules/camscope/samples/star.png";
  const args = ["--offline", "camscope", "explain", sample, "--model", "synth-resnet"];
  run("npx", [...args, "--method", "gradcam", "--out", "out"], consumer, env);
  const index = JSON.parse(readFileSync(join(consumer, "out/maps.json"), "utf8")) as {
    images: { targets: { label: string; maps: Record<string, { overlay: string }> }[] }[];
  };
  const target = index.images[0]?.targets[0] ?? fail("maps.json lists no explained image");
  if (target.label !== "star") fail(`synth-resnet called star.png "${target.label}"`);
  for (const file of ["star/gradcam.png", "star/grid.png"]) {
    if (!existsSync(join(consumer, "out", file))) fail(`camscope explain wrote no out/${file}`);
  }
  const shape = npyShape(join(consumer, "out/star/gradcam.npy"));
  if (shape.join("x") !== "128x128") fail(`out/star/gradcam.npy has shape ${shape}`);
}

const ES_MODULE = `import assert from "node:assert/strict";
import { Engine, Explainer, imagenetLabels, loadModel, openModel, preprocess, readImages }
  from "camscope";

const loaded = await loadModel("synth-resnet");
assert.equal(loaded.card.labels.length, 10);
assert.equal((await imagenetLabels()).length, 1000);
const engine = new Engine({ threads: 1 });
const ctx = await openModel("synth-resnet", engine);
const images = await readImages(["node_modules/camscope/samples/star.png"]);
const { tensor, dims } = preprocess(images, ctx.card.preprocessing);
const explanation = await new Explainer(ctx).explain({ data: tensor, dims }, { methods: ["gradcam"] });
assert.equal(ctx.label(explanation.targets.classes[0]), "star");
assert.deepEqual(explanation.results[0].map.dims, [1, 128, 128]);
await engine.dispose();
console.log("library import: ok");
`;

const TS_FILE = `import { Explainer, loadModel, openModel, Engine, type Explanation,
  type LoadedModel } from "camscope";

const loaded: LoadedModel = await loadModel("synth-resnet");
const labels: readonly string[] = loaded.card.labels;
const ctx = await openModel("synth-resnet", new Engine({ threads: 1 }));
const explainer: Explainer = new Explainer(ctx);
export async function firstMap(data: Float32Array): Promise<Float32Array> {
  const e: Explanation = await explainer.explain({ data, dims: [1, 3, 128, 128] }, { methods: [] });
  return e.results[0]?.map.data ?? new Float32Array(labels.length);
}
// @ts-expect-error: loadModel takes a model name or path, not a number
await loadModel(3);
`;

function checkTypes(consumer: string): void {
  writeFileSync(join(consumer, "check.ts"), TS_FILE);
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      // The shipped declarations are checked too, not only their use.
      skipLibCheck: false,
      types: ["node"],
      typeRoots: [join(ROOT, "node_modules/@types")],
    },
    files: ["check.ts"],
  };
  writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], consumer);
}

function main(): void {
  const keep = process.argv.includes("--keep");
  const work = mkdtempSync(join(tmpdir(), "camscope-package-"));
  const started = performance.now();
  try {
    const [pack] = timed(
      "npm pack (prepack builds dist/)",
      () =>
        JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], ROOT)) as [
          PackResult,
        ],
    );
    console.log(
      `${pack.filename}: ${mb(pack.size)} packed, ${mb(pack.unpackedSize)} unpacked, ${pack.entryCount} files`,
    );
    checkContents(pack);

    const consumer = join(work, "consumer");
    writeConsumer(consumer, pack);
    // The documented way to skip onnxruntime-node's download of CUDA libraries (README, Install):
    // camscope's own .npmrc does not travel with the package.
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^npm_config_onnxruntime/i.test(key)),
    );
    env.ONNXRUNTIME_NODE_INSTALL = "skip";
    timed("npm ci --offline (production dependencies only)", () =>
      run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], consumer, env),
    );
    if (existsSync(join(consumer, "node_modules/tsx"))) fail("a dev dependency was installed");
    timed("npx camscope explain", () => checkCli(consumer, env));
    writeFileSync(join(consumer, "check.mjs"), ES_MODULE);
    timed("library from an ES module", () => run(process.execPath, ["check.mjs"], consumer));
    timed("tsc against the shipped declarations", () => checkTypes(consumer));
    console.log(`package check passed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    if (keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main();
