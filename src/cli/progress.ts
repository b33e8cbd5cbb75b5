// A one-line progress report with rate and ETA for long CLI runs, on stderr so stdout stays pure
// results. On a terminal the line is redrawn in place; elsewhere (CI logs, pipes) a line is
// printed every 10%, since carriage returns would pile up in a log file.
import type { TextSink } from "./io.ts";

const REDRAW_MS = 100;

export interface ProgressOptions {
  /** Width in characters of a `[####----]` bar before the counts; default none. */
  bar?: number;
}

export class Progress {
  private readonly sink: TextSink;
  private readonly total: number;
  private readonly unit: string;
  private readonly bar: number;
  private readonly started = performance.now();
  private lastDraw = -Infinity;
  private lastDecile = 0;

  constructor(sink: TextSink, total: number, unit: string, options: ProgressOptions = {}) {
    this.sink = sink;
    this.total = total;
    this.unit = unit;
    this.bar = options.bar ?? 0;
  }

  update(done: number): void {
    const now = performance.now();
    if (this.sink.isTTY) {
      if (now - this.lastDraw < REDRAW_MS && done < this.total) return;
      this.lastDraw = now;
      this.sink.write(`\r\x1b[K${this.line(done, now)}`);
    } else {
      const decile = Math.floor((10 * done) / this.total);
      if (decile <= this.lastDecile) return;
      this.lastDecile = decile;
      this.sink.write(`${this.line(done, now)}\n`);
    }
  }

  /** Writes a message on its own line; on a terminal the progress line is redrawn on the next update. */
  log(text: string): void {
    this.sink.write(this.sink.isTTY ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.lastDraw = -Infinity;
  }

  /** Clears the in-place line so that what follows starts on a clean line. */
  finish(): void {
    if (this.sink.isTTY) this.sink.write("\r\x1b[K");
  }

  private line(done: number, now: number): string {
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const percent = Math.floor((100 * done) / this.total);
    const eta = rate > 0 ? formatDuration((this.total - done) / rate) : "?";
    const filled = Math.floor((this.bar * done) / this.total);
    const bar = this.bar > 0 ? `[${"#".repeat(filled)}${"-".repeat(this.bar - filled)}] ` : "";
    return `${bar}${done}/${this.total} ${this.unit} ${percent}% ${rate.toFixed(1)} ${this.unit}/s ETA ${eta}`;
  }
}

/** Seconds as m:ss (or h:mm:ss). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
