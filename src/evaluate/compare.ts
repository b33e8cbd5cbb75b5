// Two runs side by side (e.g. two models on one dataset): per method and metric column, each
// run's mean and 95% interval and the difference of the means; as CSV, text and a self-contained
// HTML page with grouped bar charts and both runs' mean curves.
import type { EvaluateConfig } from "./config.ts";
import {
  CHART_SCRIPT,
  chartJsScript,
  escapeHtml,
  formatNumber,
  jsonScript,
  PAGE_STYLE,
  PALETTE,
  pageScript,
  summaryCell,
} from "./html.ts";
import { chartSections, type ChartSpec } from "./report.ts";
import { rowOf, type ColumnInfo, type RunTables, type TableRow } from "./tables.ts";
import { winColumn } from "./wins.ts";

export interface ComparedRun {
  /** How the run is named in tables, e.g. "synth-vgg (runs/vgg)". */
  name: string;
  config: EvaluateConfig;
  tables: RunTables;
}

export interface ComparisonRow {
  method: string;
  column: string;
  a: TableRow | undefined;
  b: TableRow | undefined;
  /** Mean of b minus mean of a; NaN where either is missing. */
  difference: number;
}

export interface Comparison {
  runs: [string, string];
  methods: string[];
  columns: ColumnInfo[];
  rows: ComparisonRow[];
  /** Win% of each method over each other (column "win_vs_<other>"), where a run has them. */
  wins: ComparisonRow[];
}

function union<T>(a: readonly T[], b: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set(a.map(key));
  return [...a, ...b.filter((t) => !seen.has(key(t)))];
}

export function compareRuns(a: ComparedRun, b: ComparedRun): Comparison {
  const methods = union(a.tables.methods, b.tables.methods, (m) => m);
  const columns = union(a.tables.columns, b.tables.columns, (c) => c.name);
  const rows = methods.flatMap((method) =>
    columns.map((c): ComparisonRow => {
      const ra = rowOf(a.tables, method, c.name);
      const rb = rowOf(b.tables, method, c.name);
      const difference = ra && rb && ra.n > 0 && rb.n > 0 ? rb.mean - ra.mean : NaN;
      return { method, column: c.name, a: ra, b: rb, difference };
    }),
  );
  const winOf = (run: ComparedRun, method: string, versus: string) =>
    run.tables.wins?.find((w) => w.method === method && w.versus === versus);
  const wins = methods.flatMap((method) =>
    methods
      .filter((versus) => versus !== method)
      .flatMap((versus): ComparisonRow[] => {
        const [wa, wb] = [winOf(a, method, versus), winOf(b, method, versus)];
        if (!wa && !wb) return [];
        const difference = wa && wb && wa.n > 0 && wb.n > 0 ? wb.mean - wa.mean : NaN;
        return [{ method, column: winColumn(versus), a: wa, b: wb, difference }];
      }),
  );
  return { runs: [a.name, b.name], methods, columns, rows, wins };
}

const cell = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? String(v) : "");

export function comparisonCsv(c: Comparison): string {
  const header = [
    "method",
    "column",
    ...c.runs.flatMap((_, k) =>
      ["n", "mean", "ci95_low", "ci95_high"].map((f) => `${k === 0 ? "a" : "b"}_${f}`),
    ),
    "difference",
  ].join(",");
  const lines = [...c.rows, ...c.wins].map((r) =>
    [
      r.method,
      r.column,
      ...[r.a, r.b].flatMap((x) => [cell(x?.n), cell(x?.mean), cell(x?.low), cell(x?.high)]),
      cell(r.difference),
    ].join(","),
  );
  return `${[header, ...lines].join("\n")}\n`;
}

/** A plain-text table: method, column, the two means and their difference. */
export function comparisonText(c: Comparison): string {
  const header = ["method", "column", "a", "b", "b - a"];
  const rows = [...c.rows, ...c.wins].map((r) => [
    r.method,
    r.column,
    r.a && r.a.n > 0 ? formatNumber(r.a.mean) : "-",
    r.b && r.b.n > 0 ? formatNumber(r.b.mean) : "-",
    Number.isFinite(r.difference) ? formatNumber(r.difference) : "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  return `a = ${c.runs[0]}\nb = ${c.runs[1]}\n${[line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")}\n`;
}

function comparisonCharts(a: ComparedRun, b: ComparedRun, c: Comparison): ChartSpec[] {
  const bars = c.columns.map((col, k): ChartSpec => ({
    canvas: `bar-${k}`,
    type: "bar",
    title: `${col.title} (${col.better} is better)`,
    labels: c.methods,
    datasets: [a, b].map((run, r) => ({
      label: run.name,
      data: c.methods.map((m) => {
        const row = rowOf(run.tables, m, col.name);
        return row && row.n > 0 ? row.mean : null;
      }),
      backgroundColor: PALETTE[r],
    })),
  }));
  const names = union(
    a.tables.curves.map((x) => x.name),
    b.tables.curves.map((x) => x.name),
    (n) => n,
  );
  const curves = names.map((name, k): ChartSpec => {
    const ca = a.tables.curves.find((x) => x.name === name);
    const cb = b.tables.curves.find((x) => x.name === name);
    const x = (ca ?? cb)!.x;
    return {
      canvas: `curve-${k}`,
      type: "line",
      title: `${(ca ?? cb)!.title}: ${a.name} solid, ${b.name} dashed`,
      labels: x.map((v) => Number(v.toFixed(3))),
      xTitle: (ca ?? cb)!.xTitle ?? "fraction of pixels",
      yTitle: (ca ?? cb)!.yTitle ?? "class probability",
      datasets: [ca, cb].flatMap((curve, r) =>
        c.methods
          .filter((m) => (curve?.methods[m]?.length ?? 0) === x.length)
          .map((m) => ({
            label: `${m} (${r === 0 ? "a" : "b"})`,
            data: curve!.methods[m],
            borderColor: PALETTE[c.methods.indexOf(m) % PALETTE.length],
            borderDash: r === 0 ? [] : [6, 4],
            borderWidth: 1.5,
          })),
      ),
    };
  });
  return [...curves, ...bars];
}

/** Win% of each ordered pair in both runs, as a table (empty without win rows). */
function winTable(c: Comparison): string {
  if (c.wins.length === 0) return "";
  const body = c.wins
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.method)}</td><td>${escapeHtml(r.column.replace(/^win_vs_/, ""))}</td><td>${summaryCell(r.a)}</td><td>${summaryCell(r.b)}</td><td>${formatNumber(r.difference)}</td></tr>`,
    )
    .join("\n");
  return `<h2>Win%</h2>
<p>Share of images (%) whose probability on image x map is strictly higher under the method's map than under the other's (ties count for neither).</p>
<table><thead><tr><th>method</th><th>over</th><th>a</th><th>b</th><th>b − a</th></tr></thead><tbody>
${body}
</tbody></table>`;
}

export async function renderComparison(a: ComparedRun, b: ComparedRun): Promise<string> {
  const c = compareRuns(a, b);
  const charts = comparisonCharts(a, b, c);
  const head = c.columns.map((col) => `<th colspan="3">${escapeHtml(col.title)}</th>`).join("");
  const sub = c.columns.map(() => "<th>a</th><th>b</th><th>b − a</th>").join("");
  const body = c.methods
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m)}</td>${c.columns
          .map((col) => {
            const r = c.rows.find((x) => x.method === m && x.column === col.name)!;
            return `<td>${summaryCell(r.a)}</td><td>${summaryCell(r.b)}</td><td>${formatNumber(r.difference)}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("\n");
  const describe = (run: ComparedRun) =>
    `${escapeHtml(run.name)}: model ${escapeHtml(run.config.model.name)} (sha256 ${run.config.model.sha256.slice(0, 12)}), dataset ${escapeHtml(run.config.dataset.path)}, seed ${run.config.seed}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>camscope comparison: ${escapeHtml(a.name)} vs ${escapeHtml(b.name)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>camscope comparison</h1>
<dl><dt>a</dt><dd>${describe(a)}</dd><dt>b</dt><dd>${describe(b)}</dd></dl>
<p>Means over images with their ${escapeHtml(a.tables.interval)} in brackets.</p>
<table><thead><tr><th rowspan="2">method</th>${head}</tr><tr>${sub}</tr></thead><tbody>
${body}
</tbody></table>
${winTable(c)}
${chartSections(charts)}
${jsonScript("charts", charts)}
${await chartJsScript()}
${pageScript(CHART_SCRIPT)}
</body>
</html>
`;
}
