// The record store a queue worker hands the runner: the same interface as a run folder's store,
// backed by the run's Redis state (./run-state.ts). Which records are stored is read once per job
// for the job's images (the runner asks synchronously); each record is stored by the idempotent
// script, with the bytes of its example overlay, which the runner wrote to a scratch folder.
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { recordKey, type EvalRecord, type RecordSink } from "../records.ts";
import type { RunState } from "./run-state.ts";

export class QueueSink implements RecordSink {
  readonly dir: string;
  private readonly state: RunState;
  private readonly stored: Set<string>;

  private constructor(state: RunState, dir: string, stored: Set<string>) {
    this.state = state;
    this.dir = dir;
    this.stored = stored;
  }

  /** A sink for records of `images` x `methods`; example overlays go under `dir` first. */
  static async open(
    state: RunState,
    images: readonly string[],
    methods: readonly string[],
    dir: string,
  ): Promise<QueueSink> {
    const keys = images.flatMap((image) => methods.map((method) => recordKey(image, method)));
    const done = await state.done(keys);
    return new QueueSink(state, dir, new Set(keys.filter((_, i) => done[i])));
  }

  has(image: string, method: string): boolean {
    return this.stored.has(recordKey(image, method));
  }

  async append(records: readonly EvalRecord[]): Promise<number> {
    let fresh = 0;
    for (const record of records) {
      const key = recordKey(record.image, record.method);
      if (this.stored.has(key)) continue;
      const path = record.example ? join(this.dir, record.example) : undefined;
      const png = path ? await readFile(path) : undefined;
      if (await this.state.storeRecord(record, png)) fresh++;
      this.stored.add(key);
      if (path) await unlink(path);
    }
    return fresh;
  }
}
