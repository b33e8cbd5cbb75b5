// The self-contained HTML report of a run: configuration, the table of means and 95% intervals,
// Deletion/Insertion (and other) mean curves per method, a bar chart per metric column, and a
// grid of example maps per method. Chart.js and the images are inlined; nothing is fetched.
import { join } from "node:path";
import { decodeImage } from "../io/images.ts";
import { makeGrid, type GridCell } from "../image/grid.ts";
import { encodePng } from "../io/png.ts";
import { METHODS } from "../methods/registry.ts";
import type { SignedReading } from "../metrics/maps.ts";
import type { EvaluateConfig } from "./config.ts";
import {
  CHART_SCRIPT,
  chartJsScript,
  escapeHtml,
  jsonScript,
  PAGE_STYLE,
  PALETTE,
  pageScript,
  summaryCell,
} from "./html.ts";
import type { EvalRecord } from "./records.ts";
import { rowOf, type RunTables } from "./tables.ts";

export interface ChartSpec {
  canvas: string;
  type: "line" | "bar";
  title: string;
  labels: (string | number)[];
  datasets: Record<string, unknown>[];
  xTitle?: string;
  yTitle?: string;
  grouped?: boolean;
}

const EXAMPLE_CELL = 160;
const EXAMPLE_COLUMNS = 6;

/** Line charts of the mean curves, one per curve, a line per method. */
/** The page's "Curves" (line charts) and "Per metric" (bar charts) sections: canvases CHART_SCRIPT fills. */
export function chartSections(charts: readonly ChartSpec[]): string {
  const canvas = (c: ChartSpec) =>
    `<div class="chart"><canvas id="${c.canvas}" role="img" aria-label="${escapeHtml(c.title)}"></canvas></div>`;
  const section = (title: string, type: ChartSpec["type"]) =>
    `<h2>${title}</h2>\n<div class="charts">${charts
      .filter((c) => c.type === type)
      .map(canvas)
      .join("\n")}</div>`;
  return `${section("Curves", "line")}\n${section("Per metric", "bar")}`;
}

export function curveCharts(tables: RunTables, prefix = "curve"): ChartSpec[] {
  return tables.curves.map((curve, k) => ({
    canvas: `${prefix}-${k}`,
    type: "line",
    title: `${curve.title} (mean over images)`,
    labels: curve.x.map((x) => Number(x.toFixed(3))),
    xTitle: curve.xTitle ?? "fraction of pixels",
    yTitle: curve.yTitle ?? "class probability",
    datasets: tables.methods
      .filter((m) => (curve.methods[m]?.length ?? 0) > 0)
      .map((m, i) => ({
        label: m,
        data: curve.methods[m],
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        borderWidth: 1.5,
      })),
  }));
}

/** Bar charts, one per column: the mean per method with its 95% interval as a floating bar. */
function barCharts(tables: RunTables): ChartSpec[] {
  return tables.columns.map((c, k) => {
    const rows = tables.methods.map((m) => rowOf(tables, m, c.name));
    return {
      canvas: `bar-${k}`,
      type: "bar",
      title: `${c.title} (${c.better} is better)`,
      labels: tables.methods,
      grouped: false,
      datasets: [
        {
          label: "mean",
          data: rows.map((r) => (r && r.n > 0 ? r.mean : null)),
          backgroundColor: tables.methods.map((_, i) => `${PALETTE[i % PALETTE.length]}99`),
        },
        {
          label: "95% CI",
          data: rows.map((r) => (r && Number.isFinite(r.low) ? [r.low, r.high] : null)),
          backgroundColor: "#00000055",
          barPercentage: 0.15,
        },
      ],
    };
  });
}

/** How a column reads signed maps, in words (see evaluate/metrics.ts). */
const SIGNED_READING: Record<SignedReading, string> = {
  signed: "as they are",
  positive: "by their positive part",
  absolute: "by their absolute value",
};

/** The table: a row per method, a column per metric column, "mean [low, high]". */
export function summaryTable(tables: RunTables): string {
  const head = tables.columns
    .map((c) => {
      const signed = c.signed ? `; signed maps read ${SIGNED_READING[c.signed]}` : "";
      return `<th title="${escapeHtml(c.better)} is better${signed}">${escapeHtml(c.title)}</th>`;
    })
    .join("");
  const n = (m: string) =>
    Math.max(0, ...tables.rows.filter((r) => r.method === m).map((r) => r.n));
  const body = tables.methods
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m)}</td><td>${n(m)}</td>${tables.columns
          .map((c) => `<td>${summaryCell(rowOf(tables, m, c.name))}</td>`)
          .join("")}</tr>`,
    )
    .join("\n");
  return `<table><thead><tr><th>method</th><th>images</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Win% as a matrix: row method over column method, "win% [low, high]", ties in the title. */
export function winMatrix(tables: RunTables): string {
  const wins = tables.wins ?? [];
  if (wins.length === 0) return "";
  const head = tables.methods.map((m) => `<th>${escapeHtml(m)}</th>`).join("");
  const body = tables.methods
    .map((m) => {
      const cells = tables.methods.map((v) => {
        const w = wins.find((r) => r.method === m && r.versus === v);
        if (!w) return "<td>–</td>";
        return `<td title="${w.n} images, ${w.ties} ties">${summaryCell(w)}</td>`;
      });
      return `<tr><td>${escapeHtml(m)}</td>${cells.join("")}</tr>`;
    })
    .join("\n");
  return `<h2>Win%</h2>
<p>Share of images (%) whose probability on image x map is strictly higher under the row method's map than under the column method's (ties count for neither), with its ${escapeHtml(tables.interval)}.</p>
<table><thead><tr><th>row over column</th>${head}</tr></thead><tbody>
${body}
</tbody></table>`;
}

/** A grid PNG (data URI) per method of its example overlays, in dataset order. */
async function exampleGrids(
  dir: string,
  records: readonly EvalRecord[],
  methods: readonly string[],
): Promise<{ method: string; uri: string }[]> {
  const grids: { method: string; uri: string }[] = [];
  for (const method of methods) {
    const own = records
      .filter((r) => r.method === method && r.example)
      .sort((a, b) => examplePosition(a) - examplePosition(b));
    if (own.length === 0) continue;
    const cells: GridCell[] = await Promise.all(
      own.map(async (r) => ({
        image: await decodeImage(join(dir, r.example!)),
        caption: `${r.image}\n${r.label} p ${r.probability.toFixed(3)}`,
      })),
    );
    const grid = makeGrid(cells, { columns: EXAMPLE_COLUMNS, cellSize: EXAMPLE_CELL });
    const png = Buffer.from(await encodePng(grid)).toString("base64");
    grids.push({ method, uri: `data:image/png;base64,${png}` });
  }
  return grids;
}

function examplePosition(r: EvalRecord): number {
  return Number(/(\d+)\.png$/.exec(r.example ?? "")?.[1] ?? 0);
}

/** Notes per kind (e.g. "pointing: skipped, ...") with how many records carry them. */
function noteCounts(records: readonly EvalRecord[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of records) for (const n of r.notes) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** Which methods' maps are signed, and how each column reads them (none: ""). */
function signedNote(methods: readonly string[], tables: RunTables): string {
  const signed = methods.filter((m) => METHODS.find((d) => d.name === m)?.signed === true);
  if (signed.length === 0) return "";
  const readings = (Object.keys(SIGNED_READING) as SignedReading[])
    .map((reading) => {
      const columns = tables.columns.filter((c) => c.signed === reading).map((c) => c.title);
      return columns.length > 0 ? `${SIGNED_READING[reading]}: ${columns.join(", ")}` : "";
    })
    .filter(Boolean);
  return `<p>Signed maps (${escapeHtml(signed.join(", "))}) are read by each column as its metric defines (Quantus' default where it has the metric): ${escapeHtml(readings.join("; "))}.</p>`;
}

export async function renderReport(
  dir: string,
  config: EvaluateConfig,
  tables: RunTables,
  records: readonly EvalRecord[],
): Promise<string> {
  const charts = [...curveCharts(tables), ...barCharts(tables)];
  const grids = await exampleGrids(dir, records, tables.methods);
  const images = new Set(records.map((r) => r.image)).size;
  const notes = noteCounts(records);
  const title = `camscope evaluation: ${config.model.name} on ${config.dataset.path}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<dl>
<dt>model</dt><dd>${escapeHtml(config.model.name)} (sha256 ${config.model.sha256.slice(0, 12)})</dd>
<dt>dataset</dt><dd>${escapeHtml(config.dataset.path)} (${escapeHtml(config.dataset.format)}, ${images} of ${config.dataset.records} images evaluated)</dd>
<dt>methods</dt><dd>${escapeHtml(config.methods.join(", "))}</dd>
<dt>metrics</dt><dd>${escapeHtml(config.metrics.join(", "))}</dd>
${config.averageDrop ? `<dt>average drop</dt><dd>each image through a hard mask of the top ${100 * config.averageDrop.keep}% of its map's pixels (Relevance-CAM's evaluation), not through the map</dd>` : ""}
<dt>target</dt><dd>${config.target === "label" ? "the labelled class (top-1 where unlabelled)" : "the top-1 class"}</dd>
<dt>layers</dt><dd>${escapeHtml(config.layers.join(", "))}</dd>
<dt>seed, batch size</dt><dd>${config.seed}, ${config.batchSize}</dd>
</dl>
<h2>Results</h2>
<p>Mean over images with the ${escapeHtml(tables.interval)} in brackets. Maps are the methods' final maps at model-input size (CAM maps after ReLU, min-max normalised to [0, 1]; pixel maps min-max normalised to [0, 1], or divided by their largest magnitude into [-1, 1] when signed); scores are softmax probabilities of the explained class; perturbations act on the preprocessed input tensor. Cost is the method's explain call only: wall time per image, and passes through the model per image.</p>
${signedNote(config.methods, tables)}
${summaryTable(tables)}
${winMatrix(tables)}
${notes.length > 0 ? `<h3>Notes</h3><ul>${notes.map(([n, c]) => `<li>${escapeHtml(n)} (${c} records)</li>`).join("")}</ul>` : ""}
${chartSections(charts)}
<h2>Examples</h2>
${grids.map((g) => `<h3>${escapeHtml(g.method)}</h3><div class="grid"><img alt="${escapeHtml(g.method)} maps" src="${g.uri}"></div>`).join("\n")}
${jsonScript("charts", charts)}
${await chartJsScript()}
${pageScript(CHART_SCRIPT)}
</body>
</html>
`;
}
