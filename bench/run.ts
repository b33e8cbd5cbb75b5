// `npm run bench [-- --section forward --threads 4 --reps 20 --model synth-vgg --spin]`: runs the
// benchmark sections and prints one table each, with the machine they ran on. A new section is a
// module exporting a BenchSection, added to SECTIONS.
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { attribution } from "./attribution.ts";
import { backward } from "./backward.ts";
import { browser } from "./browser.ts";
import { cam } from "./cam.ts";
import { forward } from "./forward.ts";
import { lrp } from "./lrp.ts";
import { modern } from "./modern.ts";
import { oneRun } from "./one-run.ts";
import { BenchContext, formatTable, type BenchOptions, type BenchSection } from "./harness.ts";
import { BUNDLED_MODELS } from "../src/io/models.ts";

const SECTIONS: readonly BenchSection[] = [
  forward,
  backward,
  cam,
  attribution,
  lrp,
  oneRun,
  modern,
  browser,
];

function parseOptions(): { options: BenchOptions; sections: BenchSection[] } {
  const { values } = parseArgs({
    options: {
      section: { type: "string", multiple: true },
      model: { type: "string", multiple: true },
      threads: { type: "string" },
      reps: { type: "string", default: "15" },
      warmup: { type: "string", default: "3" },
      spin: { type: "boolean", default: false },
    },
  });
  const count = (flag: string, value: string | undefined, min: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}`);
    return n;
  };
  const names = values.section ?? SECTIONS.map((s) => s.name);
  const sections = names.map((name) => {
    const section = SECTIONS.find((s) => s.name === name);
    if (!section)
      throw new Error(
        `Unknown section "${name}" (sections: ${SECTIONS.map((s) => s.name).join(", ")})`,
      );
    return section;
  });
  const options: BenchOptions = {
    models: values.model ?? [...BUNDLED_MODELS],
    modelsGiven: values.model !== undefined,
    threads: count("threads", values.threads, 1),
    repetitions: count("reps", values.reps, 1)!,
    warmup: count("warmup", values.warmup, 0)!,
    spinning: values.spin,
  };
  return { options, sections };
}

const { options, sections } = parseOptions();
const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
console.log(
  `camscope bench: ${cpu}, ${availableParallelism()} cores, Node ${process.versions.node}, ` +
    `onnxruntime-node ${ort.env.versions.common}, threads ${options.threads ?? "all"}` +
    `${options.spinning ? " (spinning)" : ""}, ` +
    `median of ${options.repetitions} runs after ${options.warmup} warm-up runs`,
);
const context = new BenchContext(options);
try {
  for (const section of sections) {
    console.log(`\n## ${section.title}\n`);
    console.log(formatTable(await section.run(context)));
  }
} finally {
  await context.dispose();
}
