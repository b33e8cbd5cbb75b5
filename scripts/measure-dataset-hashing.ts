// Measures what the dataset identity costs `camscope evaluate` (src/evaluate/dataset-identity.ts):
// hashing every image of a run once, and the stat-only check of a resume. Writes `--files`
// random files of `--kb` KB (ImageNet validation JPEGs average about 110 KB) into a temp folder,
// then times checkContent on them twice.
//   node --import tsx scripts/measure-dataset-hashing.ts [--files 5000] [--kb 110]
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkContent, manifestEntries } from "../src/evaluate/dataset-identity.ts";

const { values } = parseArgs({
  options: { files: { type: "string", default: "5000" }, kb: { type: "string", default: "110" } },
});
const count = Number(values.files);
const bytes = Number(values.kb) * 1000;
const dir = await mkdtemp(join(tmpdir(), "camscope-hashing-"));
try {
  const records = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `${i}.jpg`);
    await writeFile(file, randomBytes(bytes));
    records.push({ id: String(i), file, label: i % 1000 });
  }
  const entries = manifestEntries(records);
  const ids = new Set(records.map((r) => r.id));
  const mb = (count * bytes) / 1e6;
  let started = performance.now();
  const first = await checkContent(dir, undefined, entries, ids);
  const hashMs = performance.now() - started;
  started = performance.now();
  const again = await checkContent(dir, first.manifest, entries, ids);
  const statMs = performance.now() - started;
  console.log(`${count} files of ${bytes / 1000} KB (${mb.toFixed(0)} MB), page cache warm:`);
  console.log(
    `  first run: ${first.hashed} hashed in ${(hashMs / 1000).toFixed(2)} s = ${(hashMs / count).toFixed(3)} ms per file, ${(mb / (hashMs / 1000)).toFixed(0)} MB/s`,
  );
  console.log(
    `  resume:    ${again.hashed} hashed, checked in ${(statMs / 1000).toFixed(2)} s = ${(statMs / count).toFixed(3)} ms per file`,
  );
  const scale = 50_000 / count;
  console.log(
    `  50,000 files: first run ${((hashMs * scale) / 1000).toFixed(1)} s, resume ${((statMs * scale) / 1000).toFixed(1)} s`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
