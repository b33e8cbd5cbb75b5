// The documentation pages and the problems a reader would hit without running anything: markup
// that scripts/check-docs.ts cannot read, and links to files or headings that do not exist.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DocsError, headingAnchors, parseBlocks, relativeLinks, type DocBlock } from "./blocks.ts";

/**
 * Pages that links may name before they exist, with where they come from. An entry whose page
 * exists is itself a problem, so the list empties as the branches land.
 */
export const PENDING_PAGES: ReadonlyMap<string, string> = new Map<string, string>([]);

/** README.md and every Markdown page under docs/ (not the generated API reference), sorted. */
export function docPages(root: string): string[] {
  const pages = ["README.md"];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = `${dir}/${name}`;
      if (path === "docs/api") continue;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith(".md")) pages.push(path);
    }
  };
  walk("docs");
  return pages;
}

/** Every block of every page; markup errors are collected, not thrown. */
export function readBlocks(
  root: string,
  pages: readonly string[],
): { blocks: DocBlock[]; problems: string[] } {
  const blocks: DocBlock[] = [];
  const problems: string[] = [];
  for (const page of pages) {
    try {
      blocks.push(...parseBlocks(page, readFileSync(join(root, page), "utf8")));
    } catch (error) {
      if (!(error instanceof DocsError)) throw error;
      problems.push(error.message);
    }
  }
  return { blocks, problems };
}

/** Links to missing files, or to headings a page does not have. */
export function linkProblems(root: string, pages: readonly string[]): string[] {
  const problems: string[] = [];
  const anchors = new Map<string, Set<string>>();
  const anchorsOf = (page: string): Set<string> => {
    let set = anchors.get(page);
    if (!set) {
      set = headingAnchors(readFileSync(join(root, page), "utf8"));
      anchors.set(page, set);
    }
    return set;
  };
  for (const [page, origin] of PENDING_PAGES) {
    if (existsSync(join(root, page))) {
      problems.push(`${page} exists now: remove it from PENDING_PAGES (${origin})`);
    }
  }
  for (const page of pages) {
    for (const link of relativeLinks(page, readFileSync(join(root, page), "utf8"))) {
      const where = `${page}:${link.line}: link "${link.target}"`;
      const target = link.path === "" ? page : link.path;
      if (!existsSync(join(root, target))) {
        if (!PENDING_PAGES.has(target)) problems.push(`${where}: ${target} does not exist`);
        continue;
      }
      if (link.anchor !== undefined && target.endsWith(".md") && !PENDING_PAGES.has(target)) {
        if (!anchorsOf(target).has(link.anchor)) {
          problems.push(`${where}: ${target} has no heading #${link.anchor}`);
        }
      }
    }
  }
  return problems;
}
