// Reading inputs and writing outputs with errors a user can act on. Inputs must be regular files
// under a size limit, checked on the open file before any byte is read: a FIFO would block the
// read forever and /dev/zero would fill memory. Outputs are checked before the work that produces
// them (a folder that can be created and written into), and a write that fails later (a full
// disk) names the file. Raw Node errors (ENOENT, ENOTDIR, EISDIR, EEXIST, EACCES, EPERM, EROFS,
// ENOSPC) become CamscopeErrors here, where the path is known.
import { constants, type Stats } from "node:fs";
import { mkdir, open, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CamscopeError, type CamscopeErrorCode } from "../errors.ts";

const MiB = 2 ** 20;

/** The largest image file read (a 100-megapixel JPEG is about 50 MiB). */
export const IMAGE_FILE_LIMIT = 256 * MiB;
/** The largest model file read: protobuf's 2 GiB message limit (larger models use external data). */
export const MODEL_FILE_LIMIT = 2 * 1024 * MiB - 1;
/** The largest text file read (COCO JSON, VOC XML, model cards): V8's longest string is ~512 MiB. */
export const TEXT_FILE_LIMIT = 512 * MiB;
/** The largest .npy tensor read (an IG baseline). */
export const NPY_FILE_LIMIT = 256 * MiB;

function formatBytes(bytes: number): string {
  if (bytes < MiB) return `${bytes}-byte`;
  return bytes >= 1024 * MiB
    ? `${(bytes / (1024 * MiB)).toFixed(1)} GiB`
    : `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What a file-system error means, in words (the errno in brackets). */
export function fsReason(error: unknown): string {
  const code = errnoOf(error);
  const words: Record<string, string> = {
    ENOENT: "no such file or folder",
    ENOTDIR: "a part of the path is a file, not a folder",
    EISDIR: "is a folder",
    EEXIST: "already exists",
    EACCES: "permission denied",
    EPERM: "operation not permitted (read-only or immutable)",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    EMFILE: "too many open files",
    ENAMETOOLONG: "the name is too long",
    ELOOP: "too many symbolic links",
    EFBIG: "file too large for the file system",
    EIO: "input/output error",
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

function describeKind(info: Stats): string {
  if (info.isFile()) return "a file";
  if (info.isDirectory()) return "a folder";
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  return "a special file";
}

/**
 * The bytes of a regular file no larger than `limit`, or why it cannot be read: a missing file, a
 * folder, a FIFO or device (opened non-blocking and refused before reading), a file over the
 * limit.
 */
export async function readRegularFile(
  path: string,
  limit: number,
): Promise<{ bytes: Buffer } | { reason: string }> {
  if (typeof path !== "string" || path === "") {
    return {
      reason: `the path must be a non-empty string, got ${JSON.stringify(path) ?? String(path)}`,
    };
  }
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of blocking.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { reason: errnoOf(error) === "ENOENT" ? "file not found" : fsReason(error) };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { reason: `is ${describeKind(info)}, not a regular file` };
    if (info.size > limit) {
      return { reason: `is ${info.size} bytes, over the ${formatBytes(limit)} limit` };
    }
    const bytes = Buffer.allocUnsafe(info.size);
    let filled = 0;
    while (filled < info.size) {
      const { bytesRead } = await handle.read(bytes, filled, info.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: bytes.subarray(0, filled) };
  } catch (error) {
    return { reason: fsReason(error) };
  } finally {
    await handle.close();
  }
}

export interface InputFileOptions {
  /** What the file is, for the message: "COCO annotations", "--baseline tensor". */
  what: string;
  limit: number;
  code?: CamscopeErrorCode;
}

/** readRegularFile, throwing `Cannot read <what> "<path>": <reason>`. */
export async function readInputFile(path: string, options: InputFileOptions): Promise<Buffer> {
  const result = await readRegularFile(path, options.limit);
  if ("reason" in result) {
    throw new CamscopeError(
      options.code ?? "INPUT_FILE",
      `Cannot read ${options.what} "${path}": ${result.reason}`,
    );
  }
  return result.bytes;
}

/** readInputFile as UTF-8 text. */
export async function readInputText(path: string, options: InputFileOptions): Promise<string> {
  return (await readInputFile(path, options)).toString("utf8");
}

/** The first existing ancestor of `path` (or the path) that is not a folder, if any. */
async function fileInTheWay(path: string): Promise<string | undefined> {
  let current = resolve(path);
  for (;;) {
    const info = await stat(current).catch(() => undefined);
    if (info) return info.isDirectory() ? undefined : current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** A CamscopeError for a failed write of `path`, naming what is in the way where it can. */
export async function outputError(error: unknown, path: string): Promise<CamscopeError> {
  if (error instanceof CamscopeError) return error;
  const code = errnoOf(error);
  if (code === "ENOTDIR" || code === "EEXIST") {
    const blocker = await fileInTheWay(dirname(path));
    if (blocker) {
      return new CamscopeError(
        "OUTPUT_WRITE",
        `Cannot write "${path}": "${blocker}" is a file, not a folder`,
        { cause: error },
      );
    }
  }
  return new CamscopeError("OUTPUT_WRITE", `Cannot write "${path}": ${fsReason(error)}`, {
    cause: error,
  });
}

/** Writes a whole file, creating its folder; any failure is an OUTPUT_WRITE error naming it. */
export async function writeOutputFile(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  } catch (error) {
    throw await outputError(error, path);
  }
}

/**
 * Replaces a file whole: written and flushed under a temporary name, then renamed over `path`, so
 * a kill leaves the old file or the new one, never a part. Failures are OUTPUT_WRITE errors naming
 * `path`.
 */
export async function replaceOutputFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(`${path}.tmp`, text, { flush: true });
    await rename(`${path}.tmp`, path);
  } catch (error) {
    throw await outputError(error, path);
  }
}

function emptyPath(option: string): CamscopeError {
  return new CamscopeError("INVALID_ARGUMENT", `${option} is empty: give the path to write to`);
}

/**
 * Makes sure `dir` is (or can be made) a folder camscope can write into, before any work: it
 * is created, and a probe file is written and removed in it.
 */
export async function prepareOutputDir(dir: string, option = "--out"): Promise<void> {
  if (typeof dir !== "string" || dir === "") throw emptyPath(option);
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new CamscopeError(
      "OUTPUT_WRITE",
      `${option} "${dir}" is ${describeKind(info)}, not a folder to write into`,
    );
  }
  const probe = join(dir, `.camscope-write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "");
    await unlink(probe);
  } catch (error) {
    const e = await outputError(error, dir);
    throw new CamscopeError("OUTPUT_WRITE", `${option}: ${e.message}`, { cause: error });
  }
}

/** Makes sure the file `path` can be written: not a folder, its folder writable. */
export async function prepareOutputFile(path: string, option = "--out"): Promise<void> {
  if (typeof path !== "string" || path === "") throw emptyPath(option);
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new CamscopeError("OUTPUT_WRITE", `${option} "${path}" is a folder, not a file to write`);
  }
  if (!info) {
    await prepareOutputDir(dirname(resolve(path)), option);
    return;
  }
  // An existing file (or device): it must open for writing; its folder is not ours to probe.
  try {
    await (await open(path, constants.O_WRONLY | constants.O_NONBLOCK)).close();
  } catch (error) {
    throw new CamscopeError(
      "OUTPUT_WRITE",
      `${option}: ${(await outputError(error, path)).message}`,
      {
        cause: error,
      },
    );
  }
}
