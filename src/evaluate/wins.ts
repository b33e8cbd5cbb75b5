// Win% between methods (Relevance-CAM's comparison): for each ordered pair of methods, the share of
// images whose probability on image x map (the average-drop metric's explained_probability) is
// strictly higher under the first method's map than under the second's. It is the mean of a 0/100
// indicator per image, so it gets the same Student t interval as every other column; ties count
// for neither method and are reported.
import type { EvalRecord } from "./records.ts";
import { summarize, type TableRow } from "./stats.ts";

/** The record value the methods are compared on. */
export const WIN_VALUE = "explained_probability";

/** Win% of `method` over `versus`; `column` is "win_vs_<versus>", so it reads like a table row. */
export interface WinRow extends TableRow {
  versus: string;
  /** Images where both methods' values are equal (counted in n, won by neither). */
  ties: number;
}

/** Every ordered pair of distinct methods, over the images both have a value for. */
export function winTable(records: readonly EvalRecord[], methods: readonly string[]): WinRow[] {
  const values = new Map<string, Map<string, number>>(methods.map((m) => [m, new Map()]));
  for (const r of records) {
    const v = r.values[WIN_VALUE];
    if (typeof v === "number" && Number.isFinite(v)) values.get(r.method)?.set(r.image, v);
  }
  const rows: WinRow[] = [];
  for (const method of methods) {
    const own = values.get(method)!;
    for (const versus of methods) {
      if (versus === method) continue;
      const other = values.get(versus)!;
      const indicators: number[] = [];
      let ties = 0;
      for (const [image, a] of own) {
        const b = other.get(image);
        if (b === undefined) continue;
        indicators.push(a > b ? 100 : 0);
        if (a === b) ties++;
      }
      rows.push({ method, column: winColumn(versus), versus, ties, ...summarize(indicators) });
    }
  }
  return rows;
}

export function winColumn(versus: string): string {
  return `win_vs_${versus}`;
}

const CSV_HEADER = "method,versus,n,win_percent,sd,ci95_low,ci95_high,ties";

const csvNumber = (v: number) => (Number.isFinite(v) ? String(v) : "");

/** One line per ordered pair; empty cells where a value is undefined. */
export function winsCsv(rows: readonly WinRow[]): string {
  const lines = rows.map((r) =>
    [r.method, r.versus, String(r.n), ...[r.mean, r.sd, r.low, r.high].map(csvNumber), r.ties].join(
      ",",
    ),
  );
  return `${[CSV_HEADER, ...lines].join("\n")}\n`;
}
