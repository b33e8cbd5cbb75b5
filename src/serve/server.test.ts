// The viewer's server serves its folders and nothing else: requests are sent byte for byte (no
// client-side normalisation of "..") and a secret file beside the served folder must never come
// back, whatever the encoding, link or method.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request, type Server } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createStaticServer, listen, safeSegments } from "./server.ts";

const SECRET = "the-secret-bytes";
let dir = "";
let server: Server;
let port = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "camscope-serve-"));
  const site = join(dir, "site");
  const models = join(dir, "models");
  mkdirSync(join(site, "ort"), { recursive: true });
  mkdirSync(join(site, "empty"));
  mkdirSync(models);
  writeFileSync(join(dir, "secret.txt"), SECRET);
  mkdirSync(join(dir, "outside"));
  writeFileSync(join(dir, "outside", "secret.txt"), SECRET);
  writeFileSync(join(site, "index.html"), "<!doctype html><title>viewer</title>");
  writeFileSync(join(site, "app.js"), "export {};");
  writeFileSync(join(site, "ort", "ort-wasm-simd-threaded.jsep.wasm"), "\0asm");
  writeFileSync(join(site, "ort", "ort-wasm-simd-threaded.jsep.mjs"), "export {};");
  writeFileSync(join(site, "name with space.json"), "{}");
  writeFileSync(join(models, "m.onnx"), "onnx");
  writeFileSync(join(models, "m.json"), "{}");
  // Links inside the site that lead out of it, to a file and to a folder.
  symlinkSync(join(dir, "secret.txt"), join(site, "link-out.txt"));
  symlinkSync(join(dir, "outside"), join(site, "link-dir"));
  // A link that stays inside is fine.
  symlinkSync(join(site, "app.js"), join(site, "alias.js"));
  server = createStaticServer([
    { prefix: "/", dir: site },
    { prefix: "/models/", dir: models },
  ]);
  port = await listen(server, "127.0.0.1", 0);
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with the path sent exactly as given. */
function get(path: string, options: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host ?? `127.0.0.1:${port}` },
      },
      (res) => {
        let body = "";
        res.setEncoding("latin1");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("the site root serves index.html with the cross-origin isolation and CSP headers", async () => {
  const reply = await get("/");
  assert.equal(reply.status, 200);
  assert.match(reply.body, /<title>viewer<\/title>/);
  assert.equal(reply.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(reply.headers["cross-origin-opener-policy"], "same-origin");
  assert.equal(reply.headers["cross-origin-embedder-policy"], "require-corp");
  assert.equal(reply.headers["cross-origin-resource-policy"], "same-origin");
  assert.equal(reply.headers["x-content-type-options"], "nosniff");
  assert.match(String(reply.headers["content-security-policy"]), /connect-src 'self'/);
});

test("MIME types: application/wasm for onnxruntime-web's WASM, JavaScript for its glue", async () => {
  const types: [string, string][] = [
    ["/ort/ort-wasm-simd-threaded.jsep.wasm", "application/wasm"],
    ["/ort/ort-wasm-simd-threaded.jsep.mjs", "text/javascript; charset=utf-8"],
    ["/app.js", "text/javascript; charset=utf-8"],
    ["/models/m.onnx", "application/octet-stream"],
    ["/models/m.json", "application/json; charset=utf-8"],
    ["/name%20with%20space.json", "application/json; charset=utf-8"],
    ["/alias.js", "text/javascript; charset=utf-8"],
  ];
  for (const [path, type] of types) {
    const reply = await get(path);
    assert.equal(reply.status, 200, path);
    assert.equal(reply.headers["content-type"], type, path);
  }
  const head = await get("/models/m.onnx", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers["content-length"], "4");
  assert.equal(head.body, "");
});

test("nothing outside the mounted folders: dot segments, encodings, links, NUL, absolute paths", async () => {
  const attempts = [
    "/../secret.txt",
    "/models/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/%252e%252e/secret.txt",
    "/models/%2e%2e/%2e%2e/secret.txt",
    "/./secret.txt",
    "//secret.txt",
    `/${dir}/secret.txt`,
    `${dir}/secret.txt`,
    `/${encodeURIComponent(join(dir, "secret.txt"))}`,
    "http://127.0.0.1/../secret.txt",
    "/link-out.txt",
    "/link-dir/secret.txt",
    "/link-dir/",
    "/app.js%00.txt",
    "/app.js%00",
    "/%00",
    "/%zz",
  ];
  for (const path of attempts) {
    const reply = await get(path);
    assert.ok(reply.status === 404 || reply.status === 400, `${path}: ${reply.status}`);
    assert.ok(!reply.body.includes(SECRET), `${path} leaked the file`);
  }
});

test("folders are never listed", async () => {
  for (const path of ["/ort/", "/ort", "/empty/", "/models/", "/models"]) {
    const reply = await get(path);
    assert.equal(reply.status, 404, path);
    assert.doesNotMatch(reply.body, /wasm|onnx/, path);
  }
});

test("only GET and HEAD: there is no upload endpoint", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const reply = await get("/index.html", { method });
    assert.equal(reply.status, 405, method);
    assert.equal(reply.headers.allow, "GET, HEAD");
  }
});

test("a loopback server answers only loopback Host names (DNS rebinding)", async () => {
  for (const host of ["localhost", `localhost:${port}`, "127.0.0.1", "127.0.0.2:8", "[::1]:8080"]) {
    assert.equal((await get("/", { host })).status, 200, host);
  }
  for (const host of ["evil.example", "evil.example:8080", "localhost.evil.example", "0.0.0.0"]) {
    assert.equal((await get("/", { host })).status, 421, host);
  }
});

test("bound to 127.0.0.1: other addresses of this machine are refused", async (t) => {
  const address = server.address();
  assert.ok(address && typeof address === "object");
  assert.equal(address.address, "127.0.0.1");
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal);
  if (!external) return t.skip("this machine has no non-loopback IPv4 address to try");
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = request({ host: external.address, port, path: "/" }, resolve);
      req.on("error", reject);
      req.end();
    }),
    /ECONNREFUSED/,
  );
});

test("safeSegments decodes names and refuses what could climb out", () => {
  assert.deepEqual(safeSegments("/models/a%20b.onnx?x=1"), ["models", "a b.onnx"]);
  assert.deepEqual(safeSegments("/"), []);
  assert.deepEqual(safeSegments("/ort/"), ["ort"]);
  for (const bad of ["", "a", "/a//b", "/%2e%2e", "/a/%2F", "/%5c", "/a\\b", "/%00", "/%e0%a4%a"]) {
    assert.equal(safeSegments(bad), undefined, bad);
  }
});
