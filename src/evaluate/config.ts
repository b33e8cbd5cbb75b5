// The configuration of an evaluation run: everything that decides its records' values. Its hash
// guards the run folder: a rerun must match it to resume. --limit, --threads and the output
// folder are left out: they change how much is computed and how fast, not what a record holds
// (batches are fixed dataset positions, so a larger --limit extends a run with equal records).
import { createHash } from "node:crypto";
import { MODEL_FILE_LIMIT, readInputFile } from "../util/files.ts";
import { join } from "node:path";
import type { PreprocessSpec } from "../image/preprocess.ts";
import type { TableOptions } from "./tables.ts";
import { isBundledModel, MODELS_DIR } from "../io/models.ts";

export interface EvaluateConfig extends Record<string, unknown> {
  model: { name: string; sha256: string; preprocessing: PreprocessSpec };
  /** sha256: of every record's annotations (./dataset-identity.ts); image bytes are checked
   *  through the run folder's dataset.json. */
  dataset: { path: string; format: string; records: number; sha256: string };
  methods: string[];
  /** The resolved options of the methods that declare any, by method name. */
  methodOptions?: Record<string, Readonly<Record<string, unknown>>>;
  metrics: string[];
  layers: string[];
  target: "label" | "top1";
  seed: number;
  batchSize: number;
  examples: number;
  /**
   * With the sanity metric only (so runs without it keep their hash): the cascade steps as counts
   * of re-initialised layers from the top, and how many parameterised layers the model has.
   */
  sanity?: { steps: number[]; layers: number };
  /**
   * Only when not the default (so other runs keep their hash): Average Drop / Increase through a
   * hard mask of the top `keep` share of pixels instead of through the map.
   */
  averageDrop?: { keep: number };
}

/** The table options a run's configuration implies (the sanity curves' x: the steps). */
export function tableOptions(config: EvaluateConfig): TableOptions {
  return config.sanity ? { curveX: { sanity: config.sanity.steps } } : {};
}

/** SHA-256 of a model's ONNX file (bundled name or path). */
export async function modelFileHash(nameOrPath: string): Promise<string> {
  const path = isBundledModel(nameOrPath) ? join(MODELS_DIR, `${nameOrPath}.onnx`) : nameOrPath;
  const bytes = await readInputFile(path, {
    what: "ONNX model",
    limit: MODEL_FILE_LIMIT,
    code: "MODEL_LOAD",
  });
  return createHash("sha256").update(bytes).digest("hex");
}
