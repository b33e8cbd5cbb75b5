// `npm run fuzz`: runs the fuzz suite and prints the tally of outcomes per class of input.
//   --quick           only the cases `npm test` runs (QUICK in cases/index.ts)
//   --group a,b       only these groups (model, image, option, dataset, output, numeric, library,
//                     concurrency, interrupt)
//   --match text      only cases whose id contains text
//   --repeat n        run the selection n times in a row (the kill -9 and concurrent-writer
//                     check: --group concurrency,interrupt --repeat 20)
//   --json file       also write every outcome to file
// Exit status 1 when any case ends other than ok.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { allCases, QUICK } from "./cases/index.ts";
import { makeFixtures } from "./fixtures.ts";
import { runPool } from "./pool.ts";
import { tally } from "./tally.ts";
import { GROUPS, type Outcome } from "./types.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    group: { type: "string" },
    match: { type: "string" },
    repeat: { type: "string", default: "1" },
    json: { type: "string" },
  },
});
const groups = values.group?.split(",");
for (const g of groups ?? []) {
  if (!(GROUPS as readonly string[]).includes(g)) {
    console.error(`error: unknown --group "${g}" (one of: ${GROUPS.join(", ")})`);
    process.exit(1);
  }
}
const repeat = Number(values.repeat);
if (!Number.isSafeInteger(repeat) || repeat < 1) {
  console.error(`error: --repeat must be an integer from 1 up, got ${values.repeat}`);
  process.exit(1);
}
const selected = allCases().filter(
  (c) =>
    (!values.quick || QUICK.has(c.id)) &&
    (!groups || groups.includes(c.group)) &&
    (!values.match || c.id.includes(values.match)),
);
const dir = await mkdtemp(join(tmpdir(), "camscope-fuzz-"));
try {
  const fixtures = await makeFixtures(join(dir, "fixtures"));
  const all: Outcome[] = [];
  for (let round = 1; round <= repeat; round++) {
    const started = performance.now();
    const outcomes = await runPool(selected, {
      fixtures,
      workDir: join(dir, `round-${round}`),
      onOutcome: (o) => {
        if (o.outcome !== "ok") console.log(`${o.outcome.padEnd(12)} ${o.id}: ${o.detail ?? ""}`);
      },
    });
    all.push(...outcomes);
    const bad = outcomes.filter((o) => o.outcome !== "ok").length;
    console.log(
      `round ${round}/${repeat}: ${outcomes.length} cases, ${bad} not ok, ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  console.log(`\n${tally(all)}`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(all, null, 2)}\n`);
  process.exitCode = all.every((o) => o.outcome === "ok") ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
