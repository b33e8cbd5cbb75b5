// Every fuzz case, in a stable order.
import type { FuzzCase } from "../types.ts";
import { datasetCases } from "./datasets.ts";
import { fileCases } from "./files.ts";
import { libraryCases } from "./library.ts";
import { numericCases } from "./numerics.ts";
import { optionCases } from "./options.ts";
import { outputCases } from "./outputs.ts";
import { runCases } from "./runs.ts";

export function allCases(): FuzzCase[] {
  const cases = [
    ...fileCases(),
    ...optionCases(),
    ...datasetCases(),
    ...outputCases(),
    ...numericCases(),
    ...libraryCases(),
    ...runCases(),
  ];
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.id)) throw new Error(`duplicate fuzz case id ${c.id}`);
    seen.add(c.id);
  }
  return cases;
}
