import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, Progress } from "./progress.ts";

function sink(isTTY: boolean): { write: (s: string) => void; isTTY: boolean; text: () => string } {
  let text = "";
  return { write: (s) => (text += s), isTTY, text: () => text };
}

test("off a terminal, progress prints one line per tenth of the work", () => {
  const s = sink(false);
  const progress = new Progress(s, 40, "images");
  for (let done = 1; done <= 40; done++) progress.update(done);
  progress.finish();
  const lines = s.text().trimEnd().split("\n");
  assert.equal(lines.length, 10);
  assert.match(lines[0]!, /^4\/40 images 10% [\d.]+ images\/s ETA \d+:\d\d$/);
  assert.match(lines[9]!, /^40\/40 images 100% /);
});

test("on a terminal, progress redraws one line and clears it when done", () => {
  const s = sink(true);
  const progress = new Progress(s, 3, "images");
  progress.update(3);
  progress.finish();
  const clear = "\r\u001b[K";
  assert.ok(s.text().startsWith(`${clear}3/3 images 100% `), JSON.stringify(s.text()));
  assert.ok(s.text().endsWith(clear));
  assert.ok(!s.text().includes("\n"));
});

test("durations read as m:ss or h:mm:ss", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(59.6), "1:00");
  assert.equal(formatDuration(3725), "1:02:05");
});

test("a bar shows the share done", () => {
  const s = sink(false);
  const progress = new Progress(s, 4, "images", { bar: 8 });
  progress.update(1);
  progress.update(4);
  const lines = s.text().trimEnd().split("\n");
  assert.match(lines[0]!, /^\[##------\] 1\/4 images 25% /);
  assert.match(lines[1]!, /^\[########\] 4\/4 images 100% /);
});

test("a message clears the progress line on a terminal, which the next update redraws", () => {
  const s = sink(true);
  const progress = new Progress(s, 2, "images");
  progress.update(1);
  progress.log("skipped: a.png");
  progress.update(1);
  const clear = "\r\u001b[K";
  const parts = s.text().split(clear);
  assert.equal(parts.length, 4, JSON.stringify(s.text()));
  assert.equal(parts[2], "skipped: a.png\n");
  assert.match(parts[3]!, /^1\/2 images 50% /);
});
