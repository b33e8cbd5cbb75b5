// What an evaluation run stores: one record per finished (image, method), and the configuration
// the records were computed under.

/** The metric values and cost of one method on one image. */
export interface EvalRecord {
  /** The dataset record's id (stable across runs). */
  image: string;
  /** The image file. */
  file: string;
  method: string;
  /** The explained class, its name, and its softmax probability on the image. */
  class: number;
  label: string;
  probability: number;
  /** Metric columns by name; null where the metric does not apply (see `notes`). */
  values: Record<string, number | null>;
  /** Per-image curves by name (e.g. "deletion": probability after each step). */
  curves: Record<string, number[]>;
  cost: RecordCost;
  /** Why a metric was skipped for this record, e.g. "pointing: no boxes or mask". */
  notes: string[];
  /** The overlay of the map on the image, relative to the run folder, for report examples. */
  example?: string;
  /**
   * Why the record has no values: NaN or Inf in the model's logits, activations, gradients or
   * map for this image. A flagged record is stored (a resume does not recompute it) but left out
   * of every table; its class is the label (-1 if none), its probability 0 and its values null.
   */
  flagged?: string;
}

/** What explaining the image cost the method (the metrics' own work is not included). */
export interface RecordCost {
  /** Wall time of the method's explain call on the batch, divided by the batch's images. */
  milliseconds: number;
  /** Forward passes through the model per image (target selection, activations, perturbations). */
  forward: number;
  /** Backward passes per image (1 for gradient methods, else 0). */
  backward: number;
}

export function recordKey(image: string, method: string): string {
  return `${image}\u0000${method}`;
}

/**
 * Where the runner stores records: a run folder's RunStore, or a queue worker's Redis store.
 * `append` stores the records not stored yet, durably, before it resolves, and returns how many.
 */
export interface RecordSink {
  /** The folder example overlays are written under (records name them relative to it). */
  readonly dir: string;
  has(image: string, method: string): boolean;
  append(records: readonly EvalRecord[]): Promise<number>;
}
