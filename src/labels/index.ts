// Class names for models that carry none: ImageNet-1k's for 1000-way classifiers, generic
// `class_<i>` names otherwise.

let imagenet: Promise<readonly string[]> | undefined;

/**
 * The 1000 ImageNet-1k category names in class-index order (torchvision's list; regenerate with
 * scripts/make-imagenet-labels.py). Loaded on first use, since most models never need them.
 */
export function imagenetLabels(): Promise<readonly string[]> {
  imagenet ??= import("./imagenet.json", { with: { type: "json" } }).then((m) => m.default);
  return imagenet;
}

/** `class_0` … `class_<n-1>`, for a model whose class names are unknown. */
export function genericLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class_${i}`);
}
