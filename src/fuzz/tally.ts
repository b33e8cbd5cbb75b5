// The table of outcomes: a row per group, a column per outcome class.
import { GROUPS, OUTCOMES, type Outcome } from "./types.ts";

export function tally(outcomes: readonly Outcome[]): string {
  const header = ["group", ...OUTCOMES, "total"];
  const rows = [...GROUPS, "all"].map((group) => {
    const own = group === "all" ? outcomes : outcomes.filter((o) => o.group === group);
    return [
      group,
      ...OUTCOMES.map((k) => String(own.filter((o) => o.outcome === k).length)),
      String(own.length),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
