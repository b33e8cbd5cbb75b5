// Where commands write: results to `out` (stdout), progress and notes to `err` (stderr). Passed in
// rather than taken from `process` so tests can run commands in-process and read what they wrote.

export interface TextSink {
  write(text: string): unknown;
  /** Whether the sink is a terminal, where progress may redraw one line in place. */
  isTTY?: boolean;
}

export interface Io {
  out: TextSink;
  err: TextSink;
}

export const processIo: Io = { out: process.stdout, err: process.stderr };
