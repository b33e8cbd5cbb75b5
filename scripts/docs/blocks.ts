// What the docs show, read the way scripts/check-docs.ts runs it: fenced code blocks with the
// directive that may precede them, the shell commands in them, and the relative links of a page.
//
// Markup (docs/development.md, "Docs that cannot go stale"):
// - ```sh (or bash, shell) blocks are run; ```console blocks are "$ command" lines followed by
//   output that the command must print; ```ts blocks are type-checked and run.
// - An HTML comment `<!-- check {...} -->` right above a fence changes that, as JSON:
//   {"skip": "why"} does not run the block; {"omit": ["npm ci"], "why": "..."} runs it without
//   those commands; {"writes": ["out/x.png"]} names files the block must leave behind (every
//   --out/-o path is checked anyway); {"timeout": 1200} raises the 600 s limit;
//   {"typecheckOnly": "why"} type-checks a ts block without running it; {"ignoreOutput": "why"}
//   runs a console block's commands without comparing their output.
// - Any other block is text. One holding a line that looks like a command (`npx `, `npm `, `node `,
//   `/usr/bin/python3 `, `$ `) is an error unless marked {"skip": "why"}: every command shown is
//   either run or skipped with a reason.
import { posix } from "node:path";

export type BlockKind = "shell" | "console" | "typescript" | "text";

export interface Directive {
  skip?: string;
  omit?: string[];
  why?: string;
  writes?: string[];
  timeout?: number;
  typecheckOnly?: string;
  ignoreOutput?: string;
}

export interface DocBlock {
  /** The page, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  kind: BlockKind;
  /** The lines between the fences, without the fence's indentation. */
  body: string;
  directive: Directive;
}

/** A problem in a page's markup, with its place. */
export class DocsError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
  }
}

const KINDS: Record<string, BlockKind> = {
  sh: "shell",
  bash: "shell",
  shell: "shell",
  console: "console",
  ts: "typescript",
  typescript: "typescript",
};

const DIRECTIVE_KEYS: Record<keyof Directive, (v: unknown) => boolean> = {
  skip: isReason,
  omit: (v) => Array.isArray(v) && v.length > 0 && v.every(isReason),
  why: isReason,
  writes: (v) => Array.isArray(v) && v.length > 0 && v.every(isReason),
  timeout: (v) => typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 3600,
  typecheckOnly: isReason,
  ignoreOutput: isReason,
};

/** Which directive keys each kind of block takes. */
const ALLOWED: Record<BlockKind, (keyof Directive)[]> = {
  shell: ["skip", "omit", "why", "writes", "timeout"],
  console: ["skip", "omit", "why", "writes", "timeout", "ignoreOutput"],
  typescript: ["skip", "writes", "timeout", "typecheckOnly"],
  text: ["skip"],
};

function isReason(v: unknown): boolean {
  return typeof v === "string" && v.trim() !== "";
}

/** A line of a text block that a reader would take for a command to type. */
export const COMMAND_LIKE = /^\s*(\$ |npx |npm |node |\/usr\/bin\/python3 )/;

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*$/;
const DIRECTIVE_START = /^\s*<!--\s*check\b/;

function parseDirective(file: string, line: number, text: string, kind: BlockKind): Directive {
  const json = text
    .replace(/^\s*<!--\s*check\b/, "")
    .replace(/-->\s*$/, "")
    .trim();
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new DocsError(file, line, `check directive is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DocsError(file, line, "check directive must be a JSON object");
  }
  const directive = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(directive)) {
    const valid = DIRECTIVE_KEYS[key as keyof Directive];
    if (!valid) {
      const known = Object.keys(DIRECTIVE_KEYS).join(", ");
      throw new DocsError(file, line, `unknown check key "${key}" (known: ${known})`);
    }
    if (!ALLOWED[kind].includes(key as keyof Directive)) {
      throw new DocsError(file, line, `check key "${key}" does not apply to a ${kind} block`);
    }
    if (!valid(v)) throw new DocsError(file, line, `check key "${key}" has an invalid value`);
  }
  if ((directive.omit === undefined) !== (directive.why === undefined)) {
    throw new DocsError(file, line, `check keys "omit" and "why" go together`);
  }
  return directive as Directive;
}

/** Every fenced block of a Markdown page, with the directive right above it. */
export function parseBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split("\n");
  const blocks: DocBlock[] = [];
  let pending: { line: number; text: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (DIRECTIVE_START.test(line)) {
      if (pending)
        throw new DocsError(file, pending.line, "check directive not followed by a block");
      const start = i;
      let comment = line;
      while (!comment.includes("-->")) {
        if (++i >= lines.length)
          throw new DocsError(file, start + 1, "unterminated check directive");
        comment += "\n" + lines[i]!;
      }
      pending = { line: start + 1, text: comment };
      continue;
    }
    const open = FENCE.exec(line);
    if (!open) {
      if (pending) {
        throw new DocsError(file, pending.line, "a check directive goes right above its block");
      }
      continue;
    }
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let closed = false;
    const start = i;
    for (i++; i < lines.length; i++) {
      const inner = lines[i]!;
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(inner);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) {
        closed = true;
        break;
      }
      body.push(inner.startsWith(indent) ? inner.slice(indent.length) : inner.trimStart());
    }
    if (!closed) throw new DocsError(file, start + 1, "unclosed code fence");
    const kind = KINDS[lang.toLowerCase()] ?? "text";
    const directive = pending ? parseDirective(file, pending.line, pending.text, kind) : {};
    const directiveLine = pending?.line ?? start + 1;
    pending = undefined;
    const block: DocBlock = { file, line: start + 1, lang, kind, body: body.join("\n"), directive };
    if (directive.omit) {
      try {
        omitCommands(block.body, directive.omit);
      } catch (error) {
        throw new DocsError(file, directiveLine, (error as Error).message);
      }
    }
    if (kind === "text" && directive.skip === undefined) {
      const k = body.findIndex((l) => COMMAND_LIKE.test(l));
      if (k >= 0) {
        throw new DocsError(
          file,
          start + 2 + k,
          `"${body[k]!.trim()}" looks like a command in a ${lang || "plain"} block: put it in a ` +
            `sh or console block, or mark the block <!-- check {"skip": "why"} -->`,
        );
      }
    }
    blocks.push(block);
  }
  if (pending) throw new DocsError(file, pending.line, "check directive not followed by a block");
  return blocks;
}

/**
 * A shell block's commands: backslash continuations joined, comments, blank lines and the bodies
 * of here-documents dropped.
 */
export function shellCommands(body: string): string[] {
  const commands: string[] = [];
  let heredoc: string | undefined;
  for (const line of body.replace(/\\\n/g, " ").split("\n")) {
    if (heredoc !== undefined) {
      if (line.trim() === heredoc) heredoc = undefined;
      continue;
    }
    const command = line.trim();
    if (command === "" || command.startsWith("#")) continue;
    commands.push(command);
    heredoc = /<<-?\s*(['"]?)(\w+)\1/.exec(command)?.[2];
  }
  return commands;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The script with each omitted command replaced by `true`: only whole commands match (at the
 * start of a line or after &&, ||, ; and before one of those or the line's end). Every omitted
 * command must occur, so a directive cannot outlive the command it names.
 */
export function omitCommands(
  script: string,
  omit: readonly string[],
): { script: string; omitted: number } {
  let out = script;
  let omitted = 0;
  for (const command of omit) {
    const pattern = new RegExp(
      `(^|&&|\\|\\||;)([ \\t]*)${escapeRegExp(command)}(?=[ \\t]*(&&|\\|\\||;|$))`,
      "gm",
    );
    let found = 0;
    out = out.replace(pattern, (_m, sep: string, space: string) => {
      found++;
      return `${sep}${space}true`;
    });
    if (found === 0) throw new Error(`omitted command "${command}" does not occur in the block`);
    omitted += found;
  }
  return { script: out, omitted };
}

/** Words of one command, as a POSIX shell splits them (quotes removed, no expansion). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The paths a command says it writes: the value of every --out/-o option (--out=x too). Paths
 * the shell would expand ($var, globs, ~) are left to the block's "writes" directive.
 */
export function outputPaths(command: string): string[] {
  const words = shellWords(command);
  const paths: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let value: string | undefined;
    if ((w === "--out" || w === "-o") && i + 1 < words.length) value = words[++i];
    else if (w.startsWith("--out=")) value = w.slice("--out=".length);
    if (value !== undefined && !/[$*?~[]/.test(value)) paths.push(value);
  }
  return paths;
}

export interface ConsoleCommand {
  command: string;
  /** The output shown below the command; "..." lines stand for lines left out. */
  expected: string[];
}

/** A console block's "$ command" lines (with backslash continuations) and their shown output. */
export function consoleCommands(body: string): ConsoleCommand[] {
  const commands: ConsoleCommand[] = [];
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("$ ")) {
      let command = line.slice(2);
      while (command.endsWith("\\") && i + 1 < lines.length) command += "\n" + lines[++i]!;
      commands.push({ command, expected: [] });
    } else if (commands.length === 0) {
      if (line.trim() !== "") throw new Error(`console block starts with "${line}", not "$ "`);
    } else if (line.trim() !== "") {
      commands[commands.length - 1]!.expected.push(line.trimEnd());
    }
  }
  return commands;
}

/**
 * The shown lines missing from the actual output: each shown line (trailing spaces aside) must
 * be a whole line of the output, in order; "..." stands for any lines.
 */
export function missingOutput(expected: readonly string[], actual: string): string[] {
  const lines = actual.split("\n").map((l) => l.trimEnd());
  const missing: string[] = [];
  let at = 0;
  for (const want of expected) {
    if (want.trim() === "...") continue;
    const found = lines.indexOf(want, at);
    if (found < 0) missing.push(want);
    else at = found + 1;
  }
  return missing;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a page's headings (outside code blocks), numbered on repeats as GitHub does. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (!m) continue;
    const slug = headingSlug(m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1"));
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The lines of a page outside fenced blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1])
        fence = undefined;
    } else if (m) {
      fence = m[1]!;
    } else {
      out.push({ line: i + 1, text: line });
    }
  });
  return out;
}

export interface DocLink {
  line: number;
  /** The target as written. */
  target: string;
  /** The file it points to, relative to the repository root ("" for an anchor of the same page). */
  path: string;
  anchor?: string;
}

/** The page's links and images to files of the repository (not URLs), outside code. */
export function relativeLinks(file: string, text: string): DocLink[] {
  const links: DocLink[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    const prose = raw.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined];
      const path =
        pathPart === "" ? "" : posix.normalize(posix.join(posix.dirname(file), pathPart));
      links.push({ line, target, path, ...(anchor !== undefined ? { anchor } : {}) });
    }
  }
  return links;
}
