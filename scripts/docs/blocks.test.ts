import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  consoleCommands,
  headingAnchors,
  missingOutput,
  omitCommands,
  outputPaths,
  parseBlocks,
  relativeLinks,
  shellCommands,
  shellWords,
} from "./blocks.ts";
import { docPages, linkProblems, readBlocks } from "./pages.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("parseBlocks", () => {
  it("reads fences, their kind, line and the directive right above", () => {
    const page = [
      "# Title",
      "",
      '<!-- check {"skip": "needs the registry"} -->',
      "```sh",
      "npm install camscope",
      "```",
      "",
      "  ```ts",
      "  const x = 1;",
      "  ```",
      "~~~console",
      "$ echo hi",
      "hi",
      "~~~",
      "```",
      "plain text",
      "```",
    ].join("\n");
    const blocks = parseBlocks("p.md", page);
    assert.deepEqual(
      blocks.map((b) => [b.line, b.lang, b.kind, b.body, b.directive]),
      [
        [4, "sh", "shell", "npm install camscope", { skip: "needs the registry" }],
        [8, "ts", "typescript", "const x = 1;", {}],
        [11, "console", "console", "$ echo hi\nhi", {}],
        [15, "", "text", "plain text", {}],
      ],
    );
  });

  it("takes a directive over several lines", () => {
    const page = '<!-- check {"omit": ["npm ci"],\n  "why": "CI runs it"} -->\n```sh\nnpm ci\n```';
    assert.deepEqual(parseBlocks("p.md", page)[0]!.directive, {
      omit: ["npm ci"],
      why: "CI runs it",
    });
  });

  const rejects = (page: string, message: RegExp): void =>
    assert.throws(() => parseBlocks("p.md", page), message);

  it("refuses directives that are not JSON, unknown, misplaced or incomplete", () => {
    rejects("<!-- check {skip} -->\n```sh\nx\n```", /p\.md:1: check directive is not JSON/);
    rejects('<!-- check {"skp": "x"} -->\n```sh\nx\n```', /unknown check key "skp"/);
    rejects('<!-- check {"omit": ["x"]} -->\n```sh\nx\n```', /"omit" and "why" go together/);
    rejects('<!-- check {"skip": ""} -->\n```sh\nx\n```', /"skip" has an invalid value/);
    rejects('<!-- check {"typecheckOnly": "x"} -->\n```sh\nx\n```', /does not apply to a shell/);
    rejects('<!-- check {"skip": "x"} -->\n\n```sh\nx\n```', /right above its block/);
    rejects('<!-- check {"skip": "x"} -->\ntext', /right above its block/);
    rejects('<!-- check {"skip": "x"} -->', /not followed by a block/);
    rejects("```sh\nx\n", /p\.md:1: unclosed code fence/);
    rejects(
      '<!-- check {"omit": ["npm ci"], "why": "CI"} -->\n```sh\nnpm test\n```',
      /p\.md:1: omitted command "npm ci" does not occur/,
    );
  });

  it("refuses a command hidden in a text block unless the block is skipped with a reason", () => {
    rejects("```\noutput\nnpx camscope explain a.png\n```", /p\.md:3: "npx camscope explain/);
    rejects("```text\n$ ls\n```", /looks like a command in a text block/);
    const ok = '<!-- check {"skip": "an example of a typo"} -->\n```\nnpx camscop\n```';
    assert.equal(parseBlocks("p.md", ok)[0]!.directive.skip, "an example of a typo");
    // A synopsis is not a command to type.
    assert.equal(parseBlocks("p.md", "```\ncamscope explain <images...>\n```").length, 1);
  });

  it("ignores ordinary HTML comments", () => {
    assert.equal(parseBlocks("p.md", "<!-- checked by hand -->\ntext").length, 0);
  });
});

describe("shell commands", () => {
  it("joins continuations and drops comments and blank lines", () => {
    const body = "# a comment\nnpx camscope explain a.png \\\n  --out out/a\n\nnpm test";
    assert.deepEqual(shellCommands(body), [
      "npx camscope explain a.png    --out out/a",
      "npm test",
    ]);
  });

  it("counts a here-document as part of its command", () => {
    const body = 'cat > card.json <<\'END\'\n{\n  "name": "x"\n}\nEND\nnpx camscope layers';
    assert.deepEqual(shellCommands(body), ["cat > card.json <<'END'", "npx camscope layers"]);
  });

  it("omits whole commands only, and every omitted command must occur", () => {
    const script = "npm ci && npx camscope explain x --out out/\nnpm test\nnpm testing";
    const { script: out, omitted } = omitCommands(script, ["npm ci", "npm test"]);
    assert.equal(out, "true && npx camscope explain x --out out/\ntrue\nnpm testing");
    assert.equal(omitted, 2);
    assert.throws(() => omitCommands(script, ["npm run lint"]), /"npm run lint" does not occur/);
  });

  it("splits words as a shell does, without expanding", () => {
    assert.deepEqual(shellWords(`a "b c" 'd $e' f\\ g`), ["a", "b c", "d $e", "f g"]);
    assert.deepEqual(shellWords(`x ""`), ["x", ""]);
  });

  it("finds the paths a command writes, leaving expansions to the directive", () => {
    assert.deepEqual(outputPaths("npx camscope explain a.png --out out/a -o b.png --out=c"), [
      "out/a",
      "b.png",
      "c",
    ]);
    assert.deepEqual(outputPaths("npx camscope evaluate --out runs/$m"), []);
  });
});

describe("console blocks", () => {
  it("pairs each command with the output shown below it", () => {
    const body = "$ echo a \\\n  b\na b\n\n$ true\n";
    assert.deepEqual(consoleCommands(body), [
      { command: "echo a \\\n  b", expected: ["a b"] },
      { command: "true", expected: [] },
    ]);
    assert.throws(() => consoleCommands("output first\n$ ls"), /starts with "output first"/);
  });

  it("wants every shown line, in order, with ... standing for left-out lines", () => {
    const actual = "one\ntwo  \nthree\nfour\n";
    assert.deepEqual(missingOutput(["one", "...", "three"], actual), []);
    assert.deepEqual(missingOutput(["two", "four"], actual), []);
    assert.deepEqual(missingOutput(["three", "two"], actual), ["two"]);
    assert.deepEqual(missingOutput(["thre"], actual), ["thre"]);
  });
});

describe("links", () => {
  it("names GitHub's anchors, numbering repeated headings", () => {
    const page =
      "# Explaining images: `camscope explain`\n## Cost\n## Cost\n```\n# not a heading\n```";
    assert.deepEqual(
      [...headingAnchors(page)],
      ["explaining-images-camscope-explain", "cost", "cost-1"],
    );
  });

  it("resolves relative links and images, not URLs or code", () => {
    const page = [
      "See [the CLI](cli.md#explain), ![grid](images/grid.png) and [here](#top).",
      "[web](https://example.com) `[not](a-link.md)`",
      "```",
      "[in code](x.md)",
      "```",
    ].join("\n");
    assert.deepEqual(relativeLinks("docs/methods.md", page), [
      { line: 1, target: "cli.md#explain", path: "docs/cli.md", anchor: "explain" },
      { line: 1, target: "images/grid.png", path: "docs/images/grid.png" },
      { line: 1, target: "#top", path: "", anchor: "top" },
    ]);
  });
});

describe("the repository's docs", () => {
  it("parse, and their links point at existing files and headings", () => {
    const pages = docPages(ROOT);
    assert.ok(pages.includes("README.md") && pages.includes("docs/cli.md"), pages.join());
    const { blocks, problems } = readBlocks(ROOT, pages);
    assert.deepEqual([...problems, ...linkProblems(ROOT, pages)], []);
    // The README's first block is the newcomer's two commands, run by .ci/run and check-docs.
    const first = blocks.find((b) => b.file === "README.md")!;
    assert.equal(first.kind, "shell");
    assert.match(first.body, /^npm ci && npx camscope explain .*\nnpm test$/);
  });
});
