// The plain-data shapes of an evaluation dataset, shared by the loaders in ./datasets/ and by
// ./dataset.ts, which picks a loader and maps annotations into the model-input frame.
import type { Box } from "../image/regions.ts";

/** One image of a dataset, with what is known of its object. */
export interface DatasetRecord {
  /** Unique and stable across runs (a resume key): derived from file names and annotation ids. */
  id: string;
  /** Absolute image path. */
  file: string;
  /** Class index in the model's output space, when known. */
  label?: number;
  /** Boxes of the labelled object(s), original-image pixels. */
  boxes?: Box[];
  /** Object mask rasterised at the original image size (1 = object), when the dataset has masks. */
  mask?(width: number, height: number): Promise<Uint8Array>;
  /**
   * What the mask is rasterised from (the annotations' segmentations), so that the dataset's
   * identity covers the mask without rasterising it.
   */
  maskSource?: unknown;
}

/** A record that was left out, and why. */
export interface DatasetProblem {
  /** The record's id, when it got one. */
  id?: string;
  /** The file concerned. */
  file?: string;
  /** Why it was left out. */
  reason: string;
}

/** A dataset layout {@link loadDataset} reads. */
export type DatasetFormat = "imagenet-folders" | "voc" | "coco" | "synthetic";

/** A loaded evaluation dataset. */
export interface Dataset {
  /** The dataset's name (its folder or file name). */
  name: string;
  /** Its layout. */
  format: DatasetFormat;
  /** The usable records, in the dataset's order. */
  records: DatasetRecord[];
  /** The records left out, and why. */
  problems: DatasetProblem[];
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Default: detected from the path's contents. */
  format?: DatasetFormat;
  /** The model's class names, to map folder / category names to indices. */
  labels?: readonly string[];
  /**
   * At most this many records: the first ones in the dataset's order, checked after the cut, so
   * bad records among them are reported rather than replaced by later ones.
   */
  limit?: number;
}

/** What a loader hands back before its records' images are checked. */
export interface Candidates {
  records: CandidateRecord[];
  problems: DatasetProblem[];
}

/** A record with the image size its annotation declares, if any, for the image check. */
export interface CandidateRecord extends DatasetRecord {
  declaredSize?: { width: number; height: number };
}
