// Making a folder read-only in tests: root ignores permission bits, so as root the folder gets
// the immutable attribute (chattr +i, refused even to root, as a read-only mount would be);
// anyone else gets mode 0555.
import { execFileSync } from "node:child_process";
import { chmodSync } from "node:fs";

const root = process.getuid?.() === 0;

export function setReadOnly(path: string, on: boolean): void {
  if (root) execFileSync("chattr", [on ? "+i" : "-i", path]);
  else chmodSync(path, on ? 0o555 : 0o755);
}

/** What writing into such a folder fails with. */
export const READ_ONLY_ERROR = /operation not permitted|permission denied/;
