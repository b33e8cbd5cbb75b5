// Initializers whose bytes live in separate files (ONNX "external data", written for models over
// 2 GB and by some exporters for every model). camscope hands ONNX Runtime the model as bytes, so
// Runtime cannot find those files itself: they are read here through a reader the caller gives
// (src/io/models.ts reads the model's own folder, never the working directory), and inlined.
import { CamscopeError } from "../../errors.ts";
import type { OnnxModel } from "../../onnx/model.ts";
import type { TensorProto } from "../../onnx/proto.ts";

const EXTERNAL = 1;

interface Location {
  file: string;
  offset: number;
  length: number | undefined;
}

function locationOf(t: TensorProto, model: OnnxModel): Location {
  const entries = (t.external_data ?? []) as { key?: string; value?: string }[];
  const get = (key: string) => entries.find((e) => e.key === key)?.value;
  const file = get("location");
  if (!file) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model "${model.source}" tensor "${t.name ?? ""}" is stored externally but names no file`,
    );
  }
  const offset = Number(get("offset") ?? 0);
  const length = get("length") === undefined ? undefined : Number(get("length"));
  return { file, offset, length };
}

/** Whether any initializer keeps its data outside the model file. */
export function hasExternalData(model: OnnxModel): boolean {
  return model.graph.initializer.some((t) => t.data_location === EXTERNAL);
}

/**
 * Reads a file named by an external-data location, relative to the model's folder (the location
 * is checked to stay inside it first).
 */
export type ExternalDataReader = (location: string) => Promise<Uint8Array>;

/**
 * A location inside the model's folder, "/"-separated, or undefined for one that is absolute or
 * climbs out of it with "..": the ONNX spec requires locations relative to the model's folder, and
 * a model must not make camscope read arbitrary files.
 */
export function insideLocation(file: string): string | undefined {
  if (/^([/\\]|[A-Za-z]:)/.test(file)) return undefined;
  const parts: string[] = [];
  for (const part of file.split(/[/\\]+/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.length > 0 ? parts.join("/") : undefined;
}

/**
 * Reads every external initializer through `read` into a copy of the tensor with raw_data.
 * Locations must stay inside the model's folder (insideLocation).
 */
export async function inlineExternalData(
  model: OnnxModel,
  read: ExternalDataReader | undefined,
): Promise<number> {
  const external = model.graph.initializer.filter((t) => t.data_location === EXTERNAL);
  if (external.length === 0) return 0;
  if (read === undefined) {
    throw new CamscopeError(
      "MODEL_LOAD",
      `Model "${model.source}" keeps ${external.length} tensors in external files; load it from its file path so camscope can find them beside it`,
    );
  }
  const files = new Map<string, Promise<Uint8Array>>();
  const inlined = new Map<TensorProto, TensorProto>();
  for (const t of external) {
    const { file, offset, length } = locationOf(t, model);
    const path = insideLocation(file);
    if (path === undefined) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Model "${model.source}" tensor "${t.name ?? ""}" points outside the model's folder ("${file}")`,
      );
    }
    let bytes = files.get(path);
    if (!bytes) {
      // The reader's error message is the reason (src/io/models.ts: "file not found", "is a FIFO
      // (named pipe), not a regular file", ...).
      bytes = read(path).catch((error: Error) => {
        throw new CamscopeError(
          "MODEL_LOAD",
          `Model "${model.source}" keeps tensor "${t.name ?? ""}" in "${path}", which cannot be read: ${error.message}`,
          { cause: error },
        );
      });
      files.set(path, bytes);
    }
    const data = await bytes;
    const end = length === undefined ? data.length : offset + length;
    if (!(offset >= 0 && end <= data.length && end >= offset)) {
      throw new CamscopeError(
        "MODEL_LOAD",
        `Model "${model.source}" tensor "${t.name ?? ""}" needs bytes ${offset}..${end} of "${path}", which has ${data.length}`,
      );
    }
    inlined.set(t, {
      ...t,
      raw_data: data.subarray(offset, end),
      data_location: 0,
      external_data: [],
    });
  }
  // New tensor objects: the model this one was cloned from shares the old ones.
  model.graph.initializer = model.graph.initializer.map((t) => inlined.get(t) ?? t);
  return external.length;
}
