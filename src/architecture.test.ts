// The import graph of the library's own code (src/ without tests, test helpers and the fuzz suite)
// keeps the layers of docs/architecture.md: no cycles between files, no import from a layer to a
// layer above it, and no method family importing another. Imports are read with TypeScript's own
// pre-processor (ts.preProcessFile: static, type-only, re-exports and dynamic import()), so the
// check needs no dependency beyond the compiler the project builds with.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import ts from "typescript";

const SRC = dirname(fileURLToPath(import.meta.url));

/**
 * The layers, bottom to top: a file may import from its own layer or any layer below. A layer's
 * entries are folders of src/, or files of src/ itself.
 */
const LAYERS: readonly (readonly string[])[] = [
  // Errors, checks, files, seeded randomness, option specs; float tensors and maps; RGB images and
  // pixel operations; class labels.
  ["errors.ts", "util", "tensor", "image", "labels"],
  // The ONNX model: protobuf, graph IR, shapes, layers.
  ["onnx"],
  // The backward compiler (gradient and LRP rules) and ONNX Runtime.
  ["compiler", "engine"],
  // Model cards and intake (any exported model into the canonical form).
  ["models"],
  // The model runtime: forward runs, targets, scores, backward and relevance sessions, caches.
  ["runtime"],
  // The method families, side by side.
  ["cam", "attribution", "lrp"],
  // The method vocabulary.
  ["methods"],
  // The explain service.
  ["explain"],
  // Node adapters: image files, PNG, .npy, model files.
  ["io"],
  // Datasets and metrics.
  ["data", "metrics"],
  // Evaluation runs: runner, store, tables, report, shards and queue.
  ["evaluate"],
  // The viewer's HTTP server (camscope serve).
  ["serve"],
  // The command line.
  ["cli"],
  // The public entry points: the API that runs anywhere (portable.ts), Node's (index.ts: portable
  // plus io/) and the browser build's (browser/: portable plus adapters that read bytes and Blobs
  // where io/ reads files).
  ["portable.ts", "index.ts", "browser"],
];

/** The method families: none may import another. */
const FAMILIES = ["cam", "attribution", "lrp"];

/** Library code: tests, test helpers, fixtures and the fuzz suite are not part of the layers. */
function isLibraryFile(path: string): boolean {
  const rel = relative(SRC, path);
  return (
    rel.endsWith(".ts") &&
    !rel.endsWith(".test.ts") &&
    !rel.split("/").some((part) => part === "testing" || part === "fixtures") &&
    !rel.startsWith("fuzz/") &&
    !rel.startsWith("models/zoo/")
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return isLibraryFile(path) ? [path] : [];
  });
}

/** Each library file's imports of other files of src/ (relative specifiers), as absolute paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    graph.set(
      file,
      importedFiles
        .map((f) => f.fileName)
        .filter((name) => name.startsWith("."))
        .map((name) => resolve(dirname(file), name)),
    );
  }
  return graph;
}

/** The top-level entry of src/ a path belongs to: its folder, or the file itself. */
function unitOf(path: string): string {
  return relative(SRC, path).split("/")[0]!;
}

function layerOf(path: string): number {
  const unit = unitOf(path);
  const layer = LAYERS.findIndex((units) => units.includes(unit));
  if (layer < 0) throw new Error(`${relative(SRC, path)}: "${unit}" is in no layer of LAYERS`);
  return layer;
}

const graph = importGraph();
const shown = (path: string) => relative(SRC, path);

test("every folder of the library is in exactly one layer", () => {
  const units = [...new Set([...graph.keys()].map(unitOf))].sort();
  const listed = LAYERS.flat();
  assert.deepEqual(
    units.filter((u) => !listed.includes(u)),
    [],
  );
  assert.equal(new Set(listed).size, listed.length, "a folder is listed twice");
  // Every listed folder or file exists (a renamed folder must be renamed here too).
  assert.deepEqual(listed.filter((u) => !units.includes(u)).sort(), []);
});

test("every import resolves to a library file or a data file", () => {
  const missing: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      // Data files (a JSON label list) are not modules of the graph, but must exist.
      const found = target.endsWith(".ts") ? graph.has(target) : existsSync(target);
      if (!found) missing.push(`${shown(file)} -> ${shown(target)}`);
    }
  }
  assert.deepEqual(missing, []);
});

test("no import goes to a layer above the importing file's", () => {
  const upward: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (layerOf(target) > layerOf(file)) upward.push(`${shown(file)} -> ${shown(target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test("no method family imports another family", () => {
  const across: string[] = [];
  for (const [file, imports] of graph) {
    const family = unitOf(file);
    if (!FAMILIES.includes(family)) continue;
    for (const target of imports) {
      const other = unitOf(target);
      if (FAMILIES.includes(other) && other !== family) {
        across.push(`${shown(file)} -> ${shown(target)}`);
      }
    }
  }
  assert.deepEqual(across, []);
});

/** The cycles of a graph (depth-first search: a back edge closes one), each as its nodes in order. */
function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const cycles: string[][] = [];
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    path.push(node);
    for (const target of edges.get(node) ?? []) {
      const s = state.get(target);
      if (s === "open") cycles.push([...path.slice(path.indexOf(target)), target]);
      else if (s === undefined && edges.has(target)) visit(target);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

test("the import graph has no cycle, between files or between folders", () => {
  assert.deepEqual(
    cyclesOf(graph).map((cycle) => cycle.map(shown).join(" -> ")),
    [],
  );
  // Folders of one layer may import each other, but not both ways.
  const folders = new Map<string, string[]>();
  for (const [file, imports] of graph) {
    const from = unitOf(file);
    const list = folders.get(from) ?? [];
    for (const target of imports) {
      const to = unitOf(target);
      if (to !== from && !list.includes(to)) list.push(to);
    }
    folders.set(from, list);
  }
  assert.deepEqual(
    cyclesOf(folders).map((cycle) => cycle.join(" -> ")),
    [],
  );
});
