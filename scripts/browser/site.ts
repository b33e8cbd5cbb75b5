// The viewer and the browser library on a local server in headless Chromium, for the browser
// tests, the browser benchmarks and the README's screenshot: builds both into a temporary
// folder, serves them as `camscope serve` does (plus the library under /lib/, with a page that
// maps "onnxruntime-web" to the served ONNX Runtime), and drives Debian's Chromium through
// playwright-core, which downloads no browser of its own.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { viewerMounts } from "../../src/cli/serve.ts";
import { createStaticServer, listen, type Mount } from "../../src/serve/server.ts";
import { buildLibrary, buildViewer } from "./build.ts";

/** Where Chromium is: $CAMSCOPE_CHROMIUM, or Debian's package (`apt-get install chromium`). */
export const CHROMIUM = process.env.CAMSCOPE_CHROMIUM ?? "/usr/bin/chromium";

/** A page of the library build: "onnxruntime-web" resolves to the served ONNX Runtime. */
const LIBRARY_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>camscope library</title>
    <script type="importmap">{ "imports": { "onnxruntime-web": "/ort/ort.min.mjs" } }</script>
  </head>
  <body></body>
</html>
`;

/** The served viewer and library, and a browser to open them in. */
export interface Site {
  /** The site's root URL (the viewer). */
  url: string;
  /** The library page (import("/lib/index.js") from it). */
  libraryUrl: string;
  browser: Browser;
  /** A new page with downloads accepted; `bypassCSP` for the library page's import map. */
  newPage(options?: { bypassCSP?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Builds the viewer and the library, serves them on a free loopback port (with `mounts` besides,
 * e.g. benchmark models), starts Chromium.
 */
export async function openSite(mounts: readonly Mount[] = []): Promise<Site> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CAMSCOPE_CHROMIUM to its path`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "camscope-site-"));
  let server: Server | undefined;
  let browser: Browser | undefined;
  try {
    const viewer = join(dir, "viewer");
    const library = join(dir, "lib");
    await Promise.all([buildViewer(viewer), buildLibrary(library)]);
    writeFileSync(join(library, "index.html"), LIBRARY_PAGE);
    server = createStaticServer([
      ...viewerMounts(viewer),
      { prefix: "/lib/", dir: library },
      ...mounts,
    ]);
    const port = await listen(server, "127.0.0.1", 0);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    const url = `http://127.0.0.1:${port}/`;
    const opened = browser;
    const served = server;
    return {
      url,
      libraryUrl: `${url}lib/`,
      browser,
      newPage: async (options = {}) => {
        const context = await opened.newContext({
          acceptDownloads: true,
          bypassCSP: options.bypassCSP ?? false,
          viewport: { width: 1280, height: 900 },
        });
        return context.newPage();
      },
      close: async () => {
        await opened.close();
        await new Promise((resolve) => served.close(resolve));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await browser?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Opens the viewer with `threads` WASM threads and waits for its default model. */
export async function openViewer(site: Site, threads = 2): Promise<Page> {
  const page = await site.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${site.url}?threads=${threads}`);
  // Page-side predicates are expressions: this file is type-checked without the DOM's types.
  // A worker's error is shown on the page (in #messages), not thrown as a page error: it ends
  // the wait too, and is the reason given.
  await page
    .waitForFunction(
      `/classes, input/.test(document.querySelector("#model-info")?.textContent) ||
        document.querySelector("#messages p") !== null`,
      null,
      { timeout: 120_000 },
    )
    .catch((error: unknown) => {
      throw new Error(`The viewer did not open its model: ${errors.join("; ") || error}`);
    });
  const shown = (await page.textContent("#messages"))?.trim();
  if (shown) throw new Error(`The viewer did not open its model: ${shown}`);
  return page;
}

/** Clicks Explain and waits for the run to end; returns the progress line ("Done in ..."). */
export async function runExplain(page: Page, timeout = 300_000): Promise<string> {
  await page.click("#run");
  await page.waitForFunction(
    `/^Done|^Cancelled/.test(document.querySelector("#progress-text")?.textContent) ||
      document.querySelector("#messages p") !== null`,
    null,
    { timeout },
  );
  const message = await page.textContent("#messages");
  if (message) throw new Error(`The viewer reported: ${message}`);
  return (await page.textContent("#progress-text")) ?? "";
}
