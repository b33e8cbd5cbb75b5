// Mapping a dataset's class names (folder names, VOC/COCO category names) to the model's output
// indices. Names are compared exactly, then ignoring case and the separators datasets disagree
// on ("hot dog", "hot_dog", "hot-dog"); a name that is a plain integer is taken as the index.

function normalise(name: string): string {
  return name
    .toLowerCase()
    .replace(/[\s_-]+/g, " ")
    .trim();
}

export interface LabelIndex {
  /** The index of a dataset class name, or undefined when the model has no such class. */
  lookup(name: string): number | undefined;
}

/** A lookup over the model's labels; without labels only integer names resolve. */
export function labelIndex(labels: readonly string[] | undefined): LabelIndex {
  const exact = new Map<string, number>();
  const loose = new Map<string, number>();
  labels?.forEach((label, i) => {
    if (!exact.has(label)) exact.set(label, i);
    const key = normalise(label);
    if (!loose.has(key)) loose.set(key, i);
  });
  return {
    lookup(name) {
      const found = exact.get(name) ?? loose.get(normalise(name));
      if (found !== undefined) return found;
      if (!/^\d+$/.test(name)) return undefined;
      const index = Number(name);
      return labels === undefined || index < labels.length ? index : undefined;
    },
  };
}
