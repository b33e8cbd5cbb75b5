// The run's tables: per method and metric column, the mean over images and its 95% Student t
// confidence interval (stats.ts), the method's cost per image, and the mean curves per method.
import { EVAL_METRICS, type MetricColumn } from "./metrics.ts";
import type { EvalRecord } from "./records.ts";
import { summarize, type TableRow } from "./stats.ts";
import { winTable, type WinRow } from "./wins.ts";

export type { TableRow };

export interface ColumnInfo extends MetricColumn {
  /** The metric the column belongs to ("cost" for the cost columns). */
  metric: string;
}

export interface MeanCurve {
  metric: string;
  name: string;
  title: string;
  x: number[];
  xTitle?: string;
  yTitle?: string;
  /** Mean curve per method over the images that have it. */
  methods: Record<string, number[]>;
}

export interface RunTables {
  /** How the intervals are computed, for readers of the JSON. */
  interval: string;
  methods: string[];
  columns: ColumnInfo[];
  rows: TableRow[];
  curves: MeanCurve[];
  /** Win% of each method over each other (with the average-drop metric only). */
  wins?: WinRow[];
}

export const INTERVAL =
  "95% confidence interval of the mean, Student t with n-1 degrees of freedom";

export const COST_COLUMNS: readonly ColumnInfo[] = [
  { metric: "cost", name: "milliseconds", title: "Wall time per image (ms)", better: "lower" },
  { metric: "cost", name: "forward_passes", title: "Forward passes per image", better: "lower" },
  { metric: "cost", name: "backward_passes", title: "Backward passes per image", better: "lower" },
];

function costValue(record: EvalRecord, column: string): number {
  if (column === "milliseconds") return record.cost.milliseconds;
  if (column === "forward_passes") return record.cost.forward;
  return record.cost.backward;
}

/** What the run decides about its tables: the x values of curves whose metric leaves them open. */
export interface TableOptions {
  /** By metric name, e.g. { sanity: [1, 5, 8, 12] } (the cascade steps). */
  curveX?: Record<string, number[]>;
}

/** Tables of `records` for the methods and metrics named (in that order). */
export function buildTables(
  records: readonly EvalRecord[],
  methods: readonly string[],
  metrics: readonly string[],
  options: TableOptions = {},
): RunTables {
  const known = metrics.map((name) => EVAL_METRICS.find((m) => m.name === name));
  const columns: ColumnInfo[] = [
    ...known.flatMap((m) => m?.columns.map((c) => ({ ...c, metric: m.name })) ?? []),
    ...COST_COLUMNS,
  ];
  // Flagged records (NaN or Inf for their image) hold no values to tabulate.
  const usable = records.filter((r) => !r.flagged);
  const byMethod = new Map<string, EvalRecord[]>(methods.map((m) => [m, []]));
  for (const r of usable) byMethod.get(r.method)?.push(r);
  const rows: TableRow[] = [];
  for (const method of methods) {
    const own = byMethod.get(method)!;
    for (const c of columns) {
      const values =
        c.metric === "cost"
          ? own.map((r) => costValue(r, c.name))
          : own.map((r) => r.values[c.name]);
      rows.push({ method, column: c.name, ...summarize(values) });
    }
  }
  const curves: MeanCurve[] = known.flatMap(
    (m) =>
      m?.curves.map((curve) => {
        const x = curve.x.length > 0 ? curve.x : (options.curveX?.[m.name] ?? []);
        return {
          metric: m.name,
          name: curve.name,
          title: curve.title,
          x,
          ...(curve.xTitle !== undefined ? { xTitle: curve.xTitle } : {}),
          ...(curve.yTitle !== undefined ? { yTitle: curve.yTitle } : {}),
          methods: Object.fromEntries(
            methods.map((method) => [
              method,
              meanCurve(byMethod.get(method)!, curve.name, x.length),
            ]),
          ),
        };
      }) ?? [],
  );
  return {
    interval: INTERVAL,
    methods: [...methods],
    columns,
    rows,
    curves,
    ...(metrics.includes("average-drop") ? { wins: winTable(usable, methods) } : {}),
  };
}

/**
 * Point-wise mean of the records' curves of that name and length (empty if none has it); a point
 * without a value (null in the JSON, e.g. a correlation of a constant map) is left out of its mean.
 */
function meanCurve(records: readonly EvalRecord[], name: string, points: number): number[] {
  const sum = new Array<number>(points).fill(0);
  const count = new Array<number>(points).fill(0);
  let curves = 0;
  for (const r of records) {
    const c = r.curves[name] as (number | null)[] | undefined;
    if (!c || c.length !== points || points === 0) continue;
    curves++;
    c.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) return;
      sum[i]! += v;
      count[i]!++;
    });
  }
  return curves === 0 ? [] : sum.map((v, i) => (count[i]! > 0 ? v / count[i]! : NaN));
}

/** The table row of a method and column. */
export function rowOf(tables: RunTables, method: string, column: string): TableRow | undefined {
  return tables.rows.find((r) => r.method === method && r.column === column);
}

const CSV_HEADER = "method,metric,column,n,mean,sd,ci95_low,ci95_high";

function csvNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : "";
}

/** One line per method and column; empty cells where a value is undefined (n < 2 for the CI). */
export function tablesCsv(tables: RunTables): string {
  const metricOf = new Map(tables.columns.map((c) => [c.name, c.metric]));
  const lines = tables.rows.map((r) =>
    [
      r.method,
      metricOf.get(r.column)!,
      r.column,
      String(r.n),
      ...[r.mean, r.sd, r.low, r.high].map(csvNumber),
    ].join(","),
  );
  return `${[CSV_HEADER, ...lines].join("\n")}\n`;
}
