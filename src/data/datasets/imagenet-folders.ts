// ImageNet-style folders: <root>/<class>/<image>, one record per image, labelled by its folder's
// name (see ./labels.ts). Folders and files are taken in sorted order; hidden entries are
// ignored; every other file is a candidate, so a stray non-image is reported, not skipped quietly.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { CandidateRecord, Candidates, DatasetProblem } from "../types.ts";
import { labelIndex } from "./labels.ts";

const byName = (a: { name: string }, b: { name: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export async function loadImagenetFolders(
  root: string,
  labels: readonly string[] | undefined,
): Promise<Candidates> {
  const index = labelIndex(labels);
  const records: CandidateRecord[] = [];
  const problems: DatasetProblem[] = [];
  const entries = (await readdir(root, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith("."))
    .sort(byName);
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (!entry.isDirectory()) {
      problems.push({ id: entry.name, file: path, reason: "not inside a class folder" });
      continue;
    }
    const label = index.lookup(entry.name);
    const files = (await readdir(path, { withFileTypes: true }))
      .filter((e) => !e.name.startsWith(".") && !e.isDirectory())
      .sort(byName);
    for (const file of files) {
      const id = `${entry.name}/${file.name}`;
      if (labels !== undefined && label === undefined) {
        problems.push({
          id,
          file: join(path, file.name),
          reason: `class folder "${entry.name}" is not among the model's labels`,
        });
        continue;
      }
      records.push({ id, file: join(path, file.name), ...(label !== undefined && { label }) });
    }
  }
  return { records, problems };
}
