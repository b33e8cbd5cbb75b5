// The viewer page: controls, drag and drop, and drawing. All model work happens in the worker
// (client.ts); this file turns its answers into overlays, grids, hover read-outs and downloads.
import { toImageData } from "../../src/browser/images.ts";
import { COLORMAP_NAMES, colormapTable, type ColormapName } from "../../src/image/colormap.ts";
import type { FloatMap, RgbImage } from "../../src/image/types.ts";
import type { MethodFamily } from "../../src/methods/registry.ts";
import { encodeNpy } from "../../src/tensor/npy.ts";
import type {
  ExplainRequest,
  ExplainResult,
  FileBytes,
  ImageInfo,
  ModelInfo,
  TargetChoice,
} from "../protocol.ts";
import { WorkerClient, WorkerError } from "./client.ts";
import { renderRows, type DisplayStyle } from "./display.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

const IMAGE_TYPES = /\.(png|jpe?g|webp)$/i;

const FAMILY_TITLES: Record<MethodFamily, string> = {
  cam: "Class activation maps (layer)",
  attribution: "Pixel attribution",
  lrp: "Layer-wise relevance propagation",
};

const state: {
  model?: ModelInfo;
  images: ImageInfo[];
  result?: ExplainResult;
  running: boolean;
  /** A cancel is under way (the worker may be restarting): Explain waits for it. */
  cancelling: boolean;
} = { images: [], running: false, cancelling: false };

const client = new WorkerClient(new URL("./worker.js", import.meta.url));

function report(error: unknown): void {
  const message =
    error instanceof WorkerError || error instanceof Error ? error.message : String(error);
  const line = el("p", { textContent: message });
  $("messages").append(line);
  setTimeout(() => line.remove(), 12000);
}

function style(columns: number): DisplayStyle {
  return {
    colormap: $<HTMLSelectElement>("colormap").value as ColormapName,
    alpha: Number($<HTMLInputElement>("alpha").value),
    signed: $<HTMLInputElement>("signed").checked,
    columns,
  };
}

function canvasOf(image: RgbImage): HTMLCanvasElement {
  const canvas = el("canvas", { width: image.width, height: image.height });
  canvas.getContext("2d")!.putImageData(toImageData(image), 0, 0);
  return canvas;
}

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function downloadCanvas(name: string, canvas: HTMLCanvasElement): void {
  canvas.toBlob((blob) => blob && download(name, blob), "image/png");
}

const slug = (s: string): string => s.replace(/\.[^.]+$/, "").replace(/[^\w.-]+/g, "_");

// ---- model -----------------------------------------------------------------------------------

function showModel(model: ModelInfo): void {
  state.model = model;
  state.images = [];
  state.result = undefined;
  $("image-list").replaceChildren();
  $("results").replaceChildren(
    el("p", { className: "hint", textContent: "Open images to explain." }),
  );
  const [, , h, w] = model.input.dims;
  $("model-info").textContent = [
    `${model.name}: ${model.labels.length} classes, input ${w}x${h}`,
    ...model.intake.map((c) => `• ${c}`),
  ].join("\n");
  $("backend").textContent = model.backend;
  $("layer").replaceChildren(
    ...model.layers.map((l) =>
      el("option", {
        value: l.name,
        selected: l.default,
        textContent: `${l.default ? "★ " : ""}${l.name} (${l.op}, ${l.dims.slice(1).join("x")})${l.default ? " default" : ""}`,
      }),
    ),
  );
  $("labels").replaceChildren(...model.labels.map((label) => el("option", { value: label })));
  const families = new Map<MethodFamily, HTMLElement>();
  for (const m of model.methods) {
    let box = families.get(m.family);
    if (!box) {
      box = el("div", { className: "family" }, el("h3", { textContent: FAMILY_TITLES[m.family] }));
      families.set(m.family, box);
    }
    const input = el("input", {
      type: "checkbox",
      value: m.name,
      checked: m.name === "gradcam",
      disabled: m.notApplicable !== undefined,
    });
    box.append(
      el(
        "label",
        {
          className: m.notApplicable ? "unavailable" : "",
          title:
            m.notApplicable ??
            `${m.title}: ${m.level === "layer" ? "map at the layer" : "map at the pixels"}${m.signed ? ", signed" : ""}; ${m.passes} passes through the model per target`,
        },
        input,
        ` ${m.title}`,
        el("span", { className: "passes", textContent: ` ${m.passes}×` }),
      ),
    );
  }
  $("methods").replaceChildren(...families.values());
}

async function openBundled(name: string): Promise<void> {
  $("model-info").textContent = `Opening ${name}…`;
  showModel(await client.request("open-bundled", { name }));
}

async function readFile(file: File): Promise<FileBytes> {
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

async function openFiles(files: File[]): Promise<void> {
  const model = files.find((f) => /\.onnx$/i.test(f.name));
  const card = files.find((f) => /\.json$/i.test(f.name));
  const images = files.filter((f) => IMAGE_TYPES.test(f.name));
  if (model) {
    $("model-info").textContent = `Opening ${model.name}…`;
    const body = { model: await readFile(model), ...(card ? { card: await readFile(card) } : {}) };
    showModel(await client.request("open-files", body, { transfer: [body.model.bytes.buffer] }));
  } else if (card) {
    report(`A card (${card.name}) needs its .onnx model opened with it`);
  }
  if (images.length > 0) await addImages(await Promise.all(images.map(readFile)));
}

// ---- images ----------------------------------------------------------------------------------

async function addImages(files: FileBytes[]): Promise<void> {
  if (!state.model) throw new Error("Open a model before adding images");
  const added = await client.request(
    "add-images",
    { images: files },
    { transfer: files.map((f) => f.bytes.buffer) },
  );
  for (const image of added) {
    state.images.push(image);
    const thumb = canvasOf({ width: image.width, height: image.height, data: image.rgb });
    const top = image.top
      .slice(0, 3)
      .map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`)
      .join("\n");
    $("image-list").append(
      el(
        "li",
        { dataset: { image: image.name } },
        thumb,
        el("div", { className: "info", textContent: `${image.name}\n${top}` }),
      ),
    );
  }
}

async function loadSamples(): Promise<void> {
  const manifest = (await (await fetch("bundled.json")).json()) as { samples: string[] };
  const files = await Promise.all(
    manifest.samples.map(async (name) => ({
      name,
      bytes: new Uint8Array(
        await (await fetch(`samples/${encodeURIComponent(name)}`)).arrayBuffer(),
      ),
    })),
  );
  await addImages(files);
}

// ---- explaining ------------------------------------------------------------------------------

function target(model: ModelInfo): TargetChoice {
  const kind = (document.querySelector('input[name="target"]:checked') as HTMLInputElement).value;
  if (kind === "topk") {
    const k = Number($<HTMLInputElement>("top-k").value);
    if (!Number.isInteger(k) || k < 1 || k > model.labels.length) {
      throw new Error(`Top classes must be from 1 to ${model.labels.length}`);
    }
    return { kind: "topk", k };
  }
  if (kind === "class") {
    const text = $<HTMLInputElement>("target-class").value.trim();
    let index = model.labels.indexOf(text);
    if (index < 0 && /^\d+$/.test(text)) index = Number(text);
    if (!(index >= 0 && index < model.labels.length)) {
      throw new Error(`Unknown class "${text}": give a class name of the model (or an index)`);
    }
    return { kind: "class", index };
  }
  return { kind: "top1" };
}

function request(): ExplainRequest {
  const model = state.model;
  if (!model) throw new Error("Open a model first");
  if (state.images.length === 0) throw new Error("Open at least one image first");
  const methods = [...document.querySelectorAll<HTMLInputElement>("#methods input:checked")].map(
    (i) => i.value,
  );
  if (methods.length === 0) throw new Error("Choose at least one method");
  return {
    methods,
    layer: $<HTMLSelectElement>("layer").value || "auto",
    target: target(model),
    score: $<HTMLSelectElement>("score").value as "logit" | "probability",
  };
}

function setRunning(running: boolean): void {
  state.running = running;
  $<HTMLButtonElement>("run").disabled = running;
  $<HTMLButtonElement>("cancel").disabled = !running;
}

async function run(): Promise<void> {
  const body = request();
  setRunning(true);
  const progress = $<HTMLProgressElement>("progress");
  const text = $("progress-text");
  progress.value = 0;
  text.textContent = "Starting…";
  const started = performance.now();
  try {
    state.result = await client.request("explain", body, {
      progress: (done, total, label) => {
        progress.value = total > 0 ? done / total : 0;
        text.textContent = `${done} of ${total} steps: ${label}`;
      },
    });
    progress.value = 1;
    text.textContent = `Done in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    render();
  } catch (error) {
    // The cancel button's handler says how the cancel went once the worker is ready again.
    if (!(error instanceof WorkerError && error.code === "CANCELLED")) throw error;
  } finally {
    if (!state.cancelling) setRunning(false);
  }
}

// ---- drawing ---------------------------------------------------------------------------------

function colorBarCanvas(colormap: ColormapName): HTMLCanvasElement {
  const table = colormapTable(colormap);
  const width = 256;
  const data = new Uint8Array(width * 3);
  data.set(table.subarray(0, width * 3));
  return Object.assign(canvasOf({ width, height: 1, data }), { className: "colorbar" });
}

function hover(canvas: HTMLCanvasElement, values: FloatMap, what: string): void {
  const tip = $("hover-tip");
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const x = Math.floor(((event.clientX - box.left) / box.width) * values.width);
    const y = Math.floor(((event.clientY - box.top) / box.height) * values.height);
    const v = values.data[y * values.width + x];
    tip.hidden = false;
    tip.style.left = `${event.clientX + 12}px`;
    tip.style.top = `${event.clientY + 12}px`;
    tip.textContent =
      v === undefined || Number.isNaN(v)
        ? `(${x}, ${y}) outside the model's crop`
        : `(${x}, ${y}) ${what} ${v.toPrecision(4)}`;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
}

function button(label: string, kind: string, act: () => void): HTMLButtonElement {
  const b = el("button", { type: "button", textContent: label, dataset: { download: kind } });
  b.addEventListener("click", act);
  return b;
}

function render(): void {
  const result = state.result;
  const model = state.model;
  if (!result || !model) return;
  const grid = $<HTMLSelectElement>("layout").value === "grid";
  const columns = Math.min(result.results.length + 1, 4);
  const [height, width] = result.dims;
  const area = height * width;
  const rows = renderRows(result, state.images, model.labels, style(columns)).map((shown) => {
    const r = shown.row;
    const t = result.targets[r]!;
    const image = state.images[t.image]!;
    const photo: RgbImage = { width: image.width, height: image.height, data: image.rgb };
    const score =
      result.score === "logit" ? `logit ${t.score.toFixed(2)}` : `p ${t.score.toFixed(3)}`;
    const row = el(
      "article",
      { className: "target-row", dataset: { row: String(r) } },
      el("h2", {
        textContent: `${image.name}: ${t.label} (${score})${result.layer ? `, layer ${result.layer}` : ""}`,
      }),
    );
    if (grid) {
      const canvas = canvasOf(shown.grid);
      const save = button("Download grid PNG", "grid", () =>
        downloadCanvas(`${slug(image.name)}-${slug(t.label)}-grid.png`, canvas),
      );
      row.append(
        el("figure", { className: "grid" }, canvas, el("div", { className: "downloads" }, save)),
      );
      return row;
    }
    const figures: HTMLElement[] = [
      el("figure", {}, canvasOf(photo), el("figcaption", { textContent: "original" })),
    ];
    result.results.forEach((m, j) => {
      const drawn = shown.maps[j]!;
      const [rh, rw] = m.rawDims;
      const map = m.map.subarray(r * area, (r + 1) * area);
      const raw = m.raw.subarray(r * rh * rw, (r + 1) * rh * rw);
      const canvas = canvasOf(drawn.overlay);
      hover(canvas, shown.values[j]!, m.level === "layer" ? "map" : "attribution");
      const base = `${slug(image.name)}-${slug(t.label)}-${m.method}`;
      figures.push(
        el(
          "figure",
          { dataset: { method: m.method, row: String(r) } },
          canvas,
          colorBarCanvas(drawn.colorBar.colormap),
          el(
            "div",
            { className: "colorbar-labels" },
            ...drawn.colorBar.labels.map((l) => el("span", { textContent: l })),
          ),
          el(
            "figcaption",
            {},
            `${drawn.caption.split("\n")[0]} `,
            el("span", {
              className: "time",
              textContent: `${Math.round(m.milliseconds / state.images.length)} ms/image`,
            }),
            ...drawn.caption
              .split("\n")
              .slice(2)
              .map((line) => el("span", { className: "note", textContent: line })),
          ),
          el(
            "div",
            { className: "downloads" },
            button("PNG", "png", () => downloadCanvas(`${base}.png`, canvas)),
            button(".npy", "npy", () =>
              download(`${base}.npy`, new Blob([encodeNpy(map, [height, width]) as BlobPart])),
            ),
            button("raw .npy", "raw", () =>
              download(`${base}.raw.npy`, new Blob([encodeNpy(raw, [rh, rw]) as BlobPart])),
            ),
          ),
        ),
      );
    });
    row.append(el("div", { className: "cells" }, ...figures));
    return row;
  });
  $("results").replaceChildren(...rows);
}

// ---- wiring ----------------------------------------------------------------------------------

function guard(action: () => Promise<void> | void): () => void {
  return () => {
    Promise.resolve()
      .then(action)
      .catch((error: unknown) => report(error));
  };
}

async function start(): Promise<void> {
  $("colormap").replaceChildren(
    ...COLORMAP_NAMES.map((name) => el("option", { value: name, textContent: name })),
  );
  // ?threads=N in the page's address sets the WASM threads (benchmarks, tests); default: all cores.
  const threads = Number(new URLSearchParams(location.search).get("threads") ?? "");
  const info = await client.request("init", {
    wasmPaths: "ort/",
    ...(Number.isInteger(threads) && threads > 0 ? { threads } : {}),
  });
  $("backend").textContent =
    `onnxruntime-web: WASM${info.isolated ? "" : " (not cross-origin isolated: 1 thread)"}; WebGPU ${info.webgpu}`;
  const manifest = (await (await fetch("bundled.json")).json()) as { models: string[] };
  const preferred = manifest.models.includes("synth-resnet") ? "synth-resnet" : manifest.models[0];
  $("bundled-model").replaceChildren(
    el("option", { value: "", textContent: "(choose)" }),
    ...manifest.models.map((name) =>
      el("option", { value: name, textContent: name, selected: name === preferred }),
    ),
  );
  if (preferred) await openBundled(preferred);
}

$("bundled-model").addEventListener(
  "change",
  guard(async () => {
    const name = $<HTMLSelectElement>("bundled-model").value;
    if (name) await openBundled(name);
  }),
);
$("model-file").addEventListener(
  "change",
  guard(async () => openFiles([...($<HTMLInputElement>("model-file").files ?? [])])),
);
$("image-files").addEventListener(
  "change",
  guard(async () =>
    addImages(
      await Promise.all([...($<HTMLInputElement>("image-files").files ?? [])].map(readFile)),
    ),
  ),
);
$("load-samples").addEventListener("click", guard(loadSamples));
$("clear-images").addEventListener(
  "click",
  guard(async () => {
    await client.request("clear-images", {});
    state.images = [];
    state.result = undefined;
    $("image-list").replaceChildren();
    $("results").replaceChildren();
  }),
);
$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  guard(run)();
});
$("cancel").addEventListener(
  "click",
  guard(async () => {
    state.cancelling = true;
    $<HTMLButtonElement>("cancel").disabled = true;
    $("progress-text").textContent = "Cancelling…";
    try {
      const how = await client.cancel();
      $("progress-text").textContent =
        how === "stopped" ? "Cancelled" : "Cancelled (worker restarted)";
    } finally {
      state.cancelling = false;
      setRunning(false);
    }
  }),
);
for (const id of ["colormap", "alpha", "signed", "layout"])
  $(id).addEventListener("input", () => render());
$("alpha").addEventListener(
  "input",
  () => ($("alpha-value").textContent = $<HTMLInputElement>("alpha").value),
);

let dragDepth = 0;
window.addEventListener("dragenter", (event) => {
  event.preventDefault();
  dragDepth++;
  $("drop-overlay").hidden = false;
});
window.addEventListener("dragleave", () => {
  if (--dragDepth <= 0) $("drop-overlay").hidden = true;
});
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  $("drop-overlay").hidden = true;
  guard(() => openFiles([...(event.dataTransfer?.files ?? [])]))();
});

guard(start)();
