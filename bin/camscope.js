#!/usr/bin/env node
// An installed package holds only the compiled dist/ and runs it. A checkout of the repository
// (it has src/) runs the TypeScript sources through tsx, a dev dependency, even when a dist/ is
// there: `npm pack` builds one, and running it would silently ignore every later edit.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(root, "dist", "cli", "main.js")).href);
}
