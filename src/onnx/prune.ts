// Removing what no graph output needs, after a rewrite cut off part of the graph (a stripped
// Softmax head, folded shape computations).
import type { OnnxModel } from "./model.ts";

/** Drops (in place) the nodes and initializers that no graph output depends on. */
export function pruneDead(model: OnnxModel): { nodes: number; initializers: number } {
  const g = model.graph;
  const needed = new Set(g.output.map((o) => o.name));
  const keep: boolean[] = new Array<boolean>(g.node.length).fill(false);
  for (let i = g.node.length - 1; i >= 0; i--) {
    const node = g.node[i]!;
    if (!node.output.some((o) => o && needed.has(o))) continue;
    keep[i] = true;
    for (const input of node.input) if (input) needed.add(input);
    // Subgraphs (If/Loop bodies) read outer values implicitly.
    for (const a of node.attribute) {
      for (const sub of a.g ? [a.g] : []) {
        for (const n of sub.node) for (const input of n.input) if (input) needed.add(input);
      }
    }
  }
  const nodesBefore = g.node.length;
  g.node = g.node.filter((_, i) => keep[i]);
  const initializersBefore = g.initializer.length;
  const initNames = new Set(g.initializer.map((t) => t.name));
  g.initializer = g.initializer.filter((t) => needed.has(t.name ?? ""));
  // Old exporters list initializers as graph inputs too; drop the entries of removed ones.
  g.input = g.input.filter((v) => !initNames.has(v.name) || needed.has(v.name));
  g.value_info = g.value_info.filter((v) => needed.has(v.name));
  return {
    nodes: nodesBefore - g.node.length,
    initializers: initializersBefore - g.initializer.length,
  };
}
