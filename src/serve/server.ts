// The viewer's local web server (`camscope serve`): static files from a few folders ("mounts":
// the built viewer, the bundled models, the samples) and nothing else. Written on node:http
// rather than taken from a static-file package because its security properties must be exact
// and tested here: nothing outside the mounted folders is ever read (no dot segments, encoded or
// not; no NUL; no backslashes; symbolic links must resolve inside their folder), folders are never
// listed, only GET and HEAD are answered, a loopback server answers only loopback Host names (so
// a DNS-rebinding page cannot read it), and every response carries the headers that make the page
// cross-origin isolated (WASM threads need SharedArrayBuffer) and keep it from sending anything
// anywhere but to this server (Content-Security-Policy connect-src 'self').
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, isAbsolute, join, relative, sep } from "node:path";

/** A folder served under a URL prefix. */
export interface Mount {
  /** The URL path prefix, starting and ending with "/" ("/" for the site root). */
  prefix: string;
  /** The folder its files come from. */
  dir: string;
}

/** Content types by file extension; anything else is served as bytes. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".onnx": "application/octet-stream",
  ".npy": "application/octet-stream",
};

/**
 * The Content-Security-Policy of every page: scripts, workers and connections from this server
 * only. 'unsafe-eval' is for protobufjs, which compiles its ONNX decoders with new Function;
 * 'wasm-unsafe-eval' for onnxruntime-web's WebAssembly.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // Cross-origin isolation: SharedArrayBuffer, hence onnxruntime-web's WASM threads.
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

/** Options of {@link createStaticServer}. */
export interface StaticServerOptions {
  /** Answer only requests whose Host is a loopback name (default true: bound to loopback). */
  loopbackOnly?: boolean;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return LOOPBACK_HOSTS.has(name.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * The path segments of a request target, decoded, or undefined for one that could name
 * something outside its folder: dot segments (also percent-encoded), NUL, backslashes, encoded
 * slashes, malformed escapes, anything but an absolute path.
 */
export function safeSegments(target: string): string[] | undefined {
  const path = target.split(/[?#]/, 1)[0]!;
  if (!path.startsWith("/") || path.includes("\\")) return undefined;
  const parts = path.slice(1).split("/");
  const segments: string[] = [];
  for (const [i, raw] of parts.entries()) {
    // An empty segment is only the last one, of a folder URL ("/", "/models/").
    if (raw === "") {
      if (i !== parts.length - 1) return undefined;
      continue;
    }
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === "." || segment === ".." || /[\0/\\]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

/** Whether `child` is `root` or inside it (both real paths). */
function inside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** The file a request names, or undefined when none may be served. */
async function resolveFile(mounts: readonly Mount[], target: string): Promise<string | undefined> {
  const segments = safeSegments(target);
  if (!segments) return undefined;
  const folder = target.split(/[?#]/, 1)[0]!.endsWith("/");
  const path = `/${segments.join("/")}${folder && segments.length > 0 ? "/" : ""}`;
  // The longest matching prefix wins, so "/models/" shadows a models/ folder of the site root.
  const mount = [...mounts]
    .sort((a, b) => b.prefix.length - a.prefix.length)
    .find((m) => path.startsWith(m.prefix) || `${path}/` === m.prefix);
  if (!mount) return undefined;
  const rest = path.slice(mount.prefix.length).split("/").filter(Boolean);
  const wanted = rest.length === 0 || path.endsWith("/") ? [...rest, "index.html"] : rest;
  try {
    const root = await realpath(mount.dir);
    // realpath follows every symbolic link: a link out of the folder lands outside `root`.
    const file = await realpath(join(root, ...wanted));
    if (!inside(root, file)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, text: string, extra = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

async function handle(
  mounts: readonly Mount[],
  options: StaticServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if ((options.loopbackOnly ?? true) && !isLoopbackHost(req.headers.host)) {
    return send(res, 421, "This server answers only localhost requests\n");
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    return send(res, 405, "Method not allowed\n", { Allow: "GET, HEAD" });
  }
  const file = await resolveFile(mounts, req.url ?? "");
  if (!file) return send(res, 404, "Not found\n");
  const info = await stat(file);
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    "Content-Type": MIME_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": info.size,
  });
  if (req.method === "HEAD") return void res.end();
  createReadStream(file)
    .on("error", () => res.destroy())
    .pipe(res);
}

/** An HTTP server of the mounted folders (not yet listening). */
export function createStaticServer(
  mounts: readonly Mount[],
  options: StaticServerOptions = {},
): Server {
  for (const m of mounts) {
    if (!m.prefix.startsWith("/") || !m.prefix.endsWith("/")) {
      throw new Error(`Mount prefix "${m.prefix}" must start and end with "/"`);
    }
  }
  return createServer((req, res) => {
    handle(mounts, options, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, "Internal error\n");
      else res.destroy();
    });
  });
}

/** Starts `server` on host:port (port 0: any free port) and returns the port it listens on. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolvePort(typeof address === "object" && address ? address.port : port);
    });
  });
}
