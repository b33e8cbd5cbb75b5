// Building blocks of the self-contained HTML pages (report and comparison): escaping, Chart.js
// inlined from its UMD build so the page works offline, data embedded as JSON, and table cells.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { TableRow } from "./tables.ts";

const require = createRequire(import.meta.url);

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A script element safe to inline: no "</script" can end it early. */
function inlineScript(code: string, attributes = ""): string {
  return `<script${attributes}>${code.replace(/<\/(script)/gi, "<\\/$1")}</script>`;
}

/** Chart.js's UMD build, read from the installed package, as an inline script. */
export async function chartJsScript(): Promise<string> {
  // The package exports only its module builds; the UMD build sits beside them in dist/.
  const path = join(dirname(require.resolve("chart.js")), "chart.umd.min.js");
  return inlineScript(await readFile(path, "utf8"));
}

/** `value` as JSON in a non-executed script element, read by the page's own script. */
export function jsonScript(id: string, value: unknown): string {
  // "<" escaped so that no string in the data can close the element.
  const json = JSON.stringify(value).replace(/</g, "\\u003c");
  return `<script type="application/json" id="${id}">${json}</script>`;
}

export function pageScript(code: string): string {
  return inlineScript(code);
}

/** A number with 4 significant digits (integers as they are). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

/** "mean [low, high] (n)" for a table cell. */
export function summaryCell(row: TableRow | undefined): string {
  if (!row || row.n === 0) return "–";
  const ci = Number.isFinite(row.low)
    ? ` <span class="ci">[${formatNumber(row.low)}, ${formatNumber(row.high)}]</span>`
    : "";
  return `${formatNumber(row.mean)}${ci}`;
}

export const PAGE_STYLE = `
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.ci { color: #777; font-size: 0.85em; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 1.5em; }
.chart { height: 320px; position: relative; }
.grid img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
`;

/** Colours of the methods (or runs) in charts, cycling. */
export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#637939",
  "#8c6d31",
  "#843c39",
];

/**
 * The page's own script: draws every chart described in the JSON element "charts" (an array of
 * { canvas, type: "line" | "bar", title, labels, datasets, yTitle, xTitle }) with Chart.js.
 */
export const CHART_SCRIPT = `
const specs = JSON.parse(document.getElementById("charts").textContent);
for (const s of specs) {
  new Chart(document.getElementById(s.canvas), {
    type: s.type,
    data: { labels: s.labels, datasets: s.datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { title: { display: true, text: s.title } },
      scales: {
        x: { title: { display: !!s.xTitle, text: s.xTitle }, stacked: false },
        y: { title: { display: !!s.yTitle, text: s.yTitle } },
      },
      datasets: { bar: { grouped: s.grouped !== false } },
      elements: { point: { radius: 0 } },
    },
  });
}
`;
