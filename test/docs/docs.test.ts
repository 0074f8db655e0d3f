// The docs against the code: docs/api.md has a heading for every export of js/index.ts (and none for anything else), docs/errors.md one row per ErrorCode, docs/kernels.md one row per kernel path of assembly/conv2d/plan.ts, and every backticked source path and relative link in docs/*.md resolves.

import { describe, it, expect } from "vitest";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "../../js/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCS = join(ROOT, "docs");
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");

/** docs/*.md, as paths from the repository root. */
const DOC_FILES = readdirSync(DOCS).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`);

/** A Markdown file's lines outside fenced code blocks (headings and tables live there; code may hold `#` comments). */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of text.split("\n")) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker) {
      if (fence === null) fence = marker[0]!;
      else if (marker[0] === fence) fence = null;
      continue;
    }
    if (fence === null) lines.push(line);
  }
  return lines;
}

/** The cells of a Markdown table row ("| a | b |" → ["a", "b"]); null for a line that is not one. */
function tableCells(line: string): string[] | null {
  if (!/^\s*\|/.test(line)) return null;
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim());
}

/** Names listed more than once. */
function duplicates(names: readonly string[]): string[] {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
}

/** The entry files: the package root's and its subpaths' (wasm-conv2d/onnx, wasm-conv2d/tfjs). */
const ENTRIES = ["js/index.ts", "js/onnx/index.ts", "js/tfjs/index.ts"];
const entrySources = () => ENTRIES.map(read).join("\n");

/** Every name the entry files export, from their `export { … } from` and `export type { … } from` statements. */
function indexExports(): string[] {
  const source = entrySources();
  const names: string[] = [];
  for (const match of source.matchAll(/^\s*export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*["'][^"']+["']/gm)) {
    for (const item of match[1]!.split(",")) {
      const spec = item.trim().replace(/^type\s+/, "");
      if (!spec) continue;
      // `a as b` exports b.
      names.push(spec.split(/\s+as\s+/).pop()!.trim());
    }
  }
  return names;
}

/** The name each `### \`name…\`` heading of a Markdown file documents, in order. */
function apiHeadings(text: string): string[] {
  return proseLines(text).flatMap((line) => {
    const match = /^### `([A-Za-z_$][\w$]*)/.exec(line);
    return match ? [match[1]!] : [];
  });
}

describe("docs/api.md", () => {
  const exports = indexExports();
  const headings = apiHeadings(read("docs/api.md"));

  it("reads the exports of js/index.ts and the subpaths' index files, which only re-export", () => {
    const source = entrySources();
    expect(exports.length, "names found in js/index.ts's export { … } from lines").toBeGreaterThan(30);
    expect(source.match(/^\s*export\s+\*.*$/gm) ?? [], "`export *` lines in js/index.ts (list the names: the docs test cannot see through them)").toEqual([]);
    const direct = source.match(/^\s*export\s+(?:declare\s+)?(?:async\s+)?(?:const|let|var|function|class|interface|type\s+\w+\s*=|enum|default)\b.*$/gm) ?? [];
    expect(direct, "declarations in js/index.ts (it only re-exports: declare them in their part and re-export them)").toEqual([]);
  });

  it("has a ### `name` heading for every export of js/index.ts", () => {
    const missing = exports.filter((name) => !headings.includes(name));
    expect(missing, "exports of js/index.ts with no ### `name` heading in docs/api.md").toEqual([]);
  });

  it("has no ### `name` heading for anything js/index.ts does not export, and one heading per export", () => {
    const unknown = headings.filter((name) => !exports.includes(name));
    expect(unknown, "### `…` headings in docs/api.md that name no export of js/index.ts").toEqual([]);
    expect(duplicates(headings), "exports with more than one ### `…` heading in docs/api.md (a class is one heading, its members below it)").toEqual([]);
  });
});

describe("docs/errors.md", () => {
  const codes: string[] = Object.values(ErrorCode);
  // Rows whose first cell is a backticked ERR_ code: the catalogue table.
  const rows = proseLines(read("docs/errors.md")).flatMap((line) => {
    const first = tableCells(line)?.[0];
    const match = first === undefined ? null : /^`(ERR_[A-Z0-9_]*)`$/.exec(first);
    return match ? [match[1]!] : [];
  });

  it("has a row for every ErrorCode value", () => {
    const missing = codes.filter((code) => !rows.includes(code));
    expect(missing, "ErrorCode values with no | `ERR_…` | row in docs/errors.md").toEqual([]);
  });

  it("has exactly one row per code, and none for a code that does not exist", () => {
    expect(duplicates(rows), "codes with more than one row in docs/errors.md").toEqual([]);
    expect(rows.filter((code) => !codes.includes(code)), "rows of docs/errors.md for codes that are not ErrorCode values").toEqual([]);
  });
});

describe("docs/kernels.md", () => {
  const plan = read("assembly/conv2d/plan.ts");
  // Every `export const NAME: i32 = n;` of plan.ts is a path constant, with the files its doc comment names.
  const constants = [...plan.matchAll(/(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?^export const ([A-Z][A-Z0-9_]*)\s*:\s*i32\s*=\s*(-?\d+)\s*;/gm)]
    .map((m) => ({ name: m[2]!, value: Number(m[3]), files: [...new Set([...(m[1] ?? "").matchAll(/\b([a-z][a-z0-9_]*\.ts)\b/g)].map((f) => f[1]!))] }));
  // Rows whose first cell is a backticked constant-like name: the path table.
  const rows = proseLines(read("docs/kernels.md")).flatMap((line) => {
    const cells = tableCells(line);
    const match = cells?.[0] === undefined ? null : /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0]);
    return match ? [{ name: match[1]!, cells: cells!, line }] : [];
  });
  const names = constants.map((c) => c.name);

  it("reads the path constants of assembly/conv2d/plan.ts, distinct numbers", () => {
    expect(constants.length, "`export const NAME: i32 = n;` lines in assembly/conv2d/plan.ts").toBeGreaterThanOrEqual(5);
    const values = constants.map((c) => String(c.value));
    expect(duplicates(values), "path numbers used by two constants in assembly/conv2d/plan.ts").toEqual([]);
  });

  it("has a table row for every path constant", () => {
    const missing = names.filter((name) => !rows.some((r) => r.name === name));
    expect(missing, "path constants of assembly/conv2d/plan.ts with no | `NAME` | row in docs/kernels.md").toEqual([]);
  });

  it("has exactly one row per constant, and none for a name plan.ts does not export", () => {
    const rowNames = rows.map((r) => r.name);
    expect(duplicates(rowNames), "path constants with more than one row in docs/kernels.md").toEqual([]);
    expect(rowNames.filter((name) => !names.includes(name)), "rows of docs/kernels.md's path table that are not path constants of plan.ts").toEqual([]);
  });

  it("gives each path its number and its files: those its doc comment in plan.ts names, as paths from the root", () => {
    const wrong: string[] = [];
    for (const c of constants) {
      const row = rows.find((r) => r.name === c.name);
      if (!row) continue; // reported above
      if (!row.cells.includes(String(c.value))) wrong.push(`${c.name}: its row does not give its number ${c.value}`);
      if (!/`assembly\/[^`]+\.ts`/.test(row.line)) wrong.push(`${c.name}: its row names no \`assembly/….ts\` file`);
      for (const file of c.files) {
        if (!row.line.includes(`\`assembly/conv2d/${file}\``)) wrong.push(`${c.name}: its row lacks \`assembly/conv2d/${file}\` (named in its doc comment in plan.ts)`);
      }
    }
    expect(wrong, "rows of docs/kernels.md's path table that disagree with assembly/conv2d/plan.ts").toEqual([]);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const textOnly = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]+>/g, "");
    const base = textOnly.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "").replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

describe("paths and links in docs/*.md", () => {
  it("finds the documents", () => {
    for (const file of ["api", "errors", "threads", "kernels", "runtimes", "development"]) {
      expect(DOC_FILES, `docs/${file}.md`).toContain(`docs/${file}.md`);
    }
  });

  it("names only files and folders of assembly/ and js/ that exist", () => {
    const broken: string[] = [];
    for (const file of DOC_FILES) {
      for (const line of read(file).split("\n")) {
        for (const match of line.matchAll(/`((?:assembly|js)\/[^`\s]*)`/g)) {
          if (!existsSync(join(ROOT, match[1]!))) broken.push(`${file}: \`${match[1]}\``);
        }
      }
    }
    expect(broken, "backticked assembly/… or js/… paths in docs/*.md that do not exist").toEqual([]);
  });

  it("links only to files that exist, and to headings they have", () => {
    const broken: string[] = [];
    for (const file of DOC_FILES) {
      for (const line of proseLines(read(file))) {
        // Inline code may show link syntax without being a link.
        for (const match of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
          const target = match[1]!;
          if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
          const [path, anchor] = target.split("#") as [string, string | undefined];
          const resolved = path === "" ? join(ROOT, file) : resolve(DOCS, decodeURI(path));
          const shown = path === "" ? file : relative(ROOT, resolved);
          if (!existsSync(resolved)) {
            broken.push(`${file}: (${target}) → ${shown} does not exist`);
            continue;
          }
          if (anchor && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor)) {
            broken.push(`${file}: (${target}) → ${shown} has no heading #${anchor}`);
          }
        }
      }
    }
    expect(broken, "relative links in docs/*.md that point at no file or heading").toEqual([]);
  });
});

describe("bench/results/", () => {
  // Only results a document cites are kept: a file is cited by its name, or by the time of its run
  // ("12:46") in RESULTS.md, or by a pattern (`runtimes-*.json`) or an elided name (`…T12-01.json`).
  it("holds only files that README.md, bench/RESULTS.md or docs/ cite", () => {
    const cited = ["README.md", "bench/RESULTS.md", ...DOC_FILES].map(read).join("\n");
    const uncited = readdirSync(join(ROOT, "bench/results")).filter((file) => {
      if (cited.includes(file)) return false;
      const time = /T(\d\d)-(\d\d)\.\w+$/.exec(file);
      if (time && (cited.includes(`${time[1]}:${time[2]}`) || cited.includes(`…T${time[1]}-${time[2]}`))) return false;
      const prefix = /^([a-z-]+)-\d/.exec(file)?.[1];
      return !(prefix && cited.includes(`${prefix}-*.${file.split(".").pop()}`));
    });
    expect(uncited, "delete them, or cite them where their figures are used").toEqual([]);
  });
});
