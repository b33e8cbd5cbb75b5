// Where an object lies in an image: boxes and masks, in the pixels of the original image or of
// the model input. Datasets produce them, localization metrics read them.

/** A box in pixels: x0, y0 of its first pixel, x1, y1 exclusive. */
export interface Box {
  /** Left edge: the first column inside. */
  x0: number;
  /** Top edge: the first row inside. */
  y0: number;
  /** Right edge: the first column past the box. */
  x1: number;
  /** Bottom edge: the first row past the box. */
  y1: number;
}

/** An image's annotation in the model-input frame (see regionsInInput in src/data/dataset.ts). */
export interface InputRegions {
  /** The object's boxes in input pixels. */
  boxes: Box[];
  /** The object's mask at the input size (1 = object), when the dataset has masks. */
  mask?: Uint8Array;
}
