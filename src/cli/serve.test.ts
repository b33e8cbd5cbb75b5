import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CamscopeError } from "../errors.ts";
import { camscope } from "./testing/harness.ts";
import { startServer } from "./serve.ts";

function fetchStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on("error", reject);
  });
}

test("camscope serve listens on 127.0.0.1:8080 unless told otherwise", async () => {
  const help = await camscope(["serve", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--port <port>.*\(default: 8080\)/);
  assert.match(help.stdout, /--host <address>[^-]*\(default:\s+"127\.0\.0\.1"\)/);
  const bad = await camscope(["serve", "--port", "70000"]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /--port <port>' argument '70000' is invalid. must be an integer from 0 to 65535/,
  );
});

test("serve: the viewer at /, the package's models and samples beside it", async () => {
  const viewer = mkdtempSync(join(tmpdir(), "camscope-viewer-"));
  writeFileSync(join(viewer, "index.html"), "<!doctype html>");
  const { server, url } = await startServer({ port: 0, host: "127.0.0.1" }, viewer);
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(await fetchStatus(url), 200);
    assert.equal(await fetchStatus(`${url}models/synth-resnet.onnx`), 200);
    assert.equal(await fetchStatus(`${url}models/synth-resnet.json`), 200);
    assert.equal(await fetchStatus(`${url}samples/star.png`), 200);
    assert.equal(await fetchStatus(`${url}ort/ort-wasm-simd-threaded.jsep.wasm`), 200);
    assert.equal(await fetchStatus(`${url}samples/annotations.json/x`), 404);
    // The port is taken now: a second server says so in one line.
    const port = Number(new URL(url).port);
    await assert.rejects(
      startServer({ port, host: "127.0.0.1" }, viewer),
      (e: unknown) =>
        e instanceof CamscopeError &&
        e.code === "INVALID_ARGUMENT" &&
        /^Cannot serve on 127\.0\.0\.1:\d+: the port is in use$/.test(e.message) &&
        e.hint === "give another with --port, or --port 0 for any free one",
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(viewer, { recursive: true, force: true });
  }
});

test("serve refuses to start without a built viewer, saying how to build it", async () => {
  const empty = mkdtempSync(join(tmpdir(), "camscope-viewer-"));
  try {
    await assert.rejects(
      startServer({ port: 0, host: "127.0.0.1" }, empty),
      (e: unknown) =>
        e instanceof CamscopeError &&
        e.code === "INPUT_FILE" &&
        /The viewer is not built/.test(e.message) &&
        /npm run build:viewer/.test(e.hint ?? ""),
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
