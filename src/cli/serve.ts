// `camscope serve`: the viewer (built into dist/viewer/ by `npm run build:viewer`), the bundled
// models, the samples and onnxruntime-web's WASM, on a local web server. Bound to 127.0.0.1
// unless --host says otherwise; images and models the user opens stay in the page (there is no
// upload endpoint).
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { CamscopeError } from "../errors.ts";
import { MODELS_DIR } from "../io/models.ts";
import { createStaticServer, listen, type Mount } from "../serve/server.ts";
import type { Io } from "./io.ts";
import { intOption } from "./validate.ts";

// Two levels below the package root both as src/cli/*.ts and dist/cli/*.js.
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The built viewer: index.html, the app and worker bundles, the list of bundled files. */
export const VIEWER_DIR = join(PACKAGE_ROOT, "dist", "viewer");
const SAMPLES_DIR = join(PACKAGE_ROOT, "samples");

export interface ServeOptions {
  port: number;
  host: string;
}

/**
 * onnxruntime-web's dist/ folder (its WASM and glue): a dev dependency of the checkout, and a
 * package an installed camscope's user adds to serve the viewer (28 MB of WASM that the CLI
 * alone never needs).
 */
function onnxruntimeWebDist(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve("onnxruntime-web");
  } catch {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      "camscope serve needs the onnxruntime-web package for the viewer's ONNX Runtime, and it is not installed",
      { hint: "run `npm install onnxruntime-web` beside camscope" },
    );
  }
  return dirname(entry);
}

/** The folders served: the viewer at the root, the package's models and samples, ONNX Runtime. */
export function viewerMounts(viewerDir = VIEWER_DIR): Mount[] {
  if (!existsSync(join(viewerDir, "index.html"))) {
    throw new CamscopeError(
      "INPUT_FILE",
      `The viewer is not built: "${viewerDir}" has no index.html`,
      { hint: "run `npm run build:viewer` in the camscope checkout first" },
    );
  }
  return [
    { prefix: "/", dir: viewerDir },
    { prefix: "/models/", dir: MODELS_DIR },
    { prefix: "/samples/", dir: SAMPLES_DIR },
    { prefix: "/ort/", dir: onnxruntimeWebDist() },
  ];
}

/** Starts the viewer's server; resolves once it listens, with its URL. */
export async function startServer(
  options: ServeOptions,
  viewerDir?: string,
): Promise<{ server: Server; url: string }> {
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(options.host);
  const server = createStaticServer(viewerMounts(viewerDir), { loopbackOnly: loopback });
  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const [why, hint] =
      e.code === "EADDRINUSE"
        ? ["the port is in use", "give another with --port, or --port 0 for any free one"]
        : e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND"
          ? ["no such address on this machine", "--host takes an address of this machine"]
          : e.code === "EACCES"
            ? ["permission denied", "ports below 1024 need privileges: give --port 1024 or above"]
            : [e.message, undefined];
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Cannot serve on ${options.host}:${options.port}: ${why}`,
      { cause: error, ...(hint ? { hint } : {}) },
    );
  }
  const shown = options.host.includes(":") ? `[${options.host}]` : options.host;
  return { server, url: `http://${shown}:${port}/` };
}

export function registerServe(program: Command, io: Io): void {
  program
    .command("serve")
    .description("serve the viewer, the bundled models and the samples on a local web server")
    .option("--port <port>", "TCP port (0: any free port)", intOption(0, 65535), 8080)
    .option("--host <address>", "address to listen on (0.0.0.0: the whole network)", "127.0.0.1")
    .action(async (options: ServeOptions) => {
      const { server, url } = await startServer(options);
      io.out.write(`camscope viewer on ${url} (Ctrl+C stops it)\n`);
      if (!/^(127\.|localhost|::1)/.test(options.host)) {
        io.err.write(
          `note: listening on ${options.host}: other machines on the network can open the viewer\n`,
        );
      }
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
