// The package's promises in package.json (exports with types, no side effects, one runtime dependency) and its size limits.

import { describe, it, expect } from "vitest";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "../runtimes/harness.ts";

/** Limits of the issue: a module small enough to ship in a page without thinking about it. */
const WASM_LIMIT_BYTES = 64 * 1024;
const JS_LIMIT_BYTES = 30 * 1024;

describe("package.json", () => {
  it("exports the entry with its types first, is free of side effects and depends on @assemblyscript/loader only", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    expect(Object.keys(pkg.exports["."])[0]).toBe("types");
    expect(pkg.exports["."].types).toBe("./dist/index.d.ts");
    expect(pkg.exports["."].import).toBe("./dist/index.js");
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.dependencies)).toEqual(["@assemblyscript/loader"]);
    await stat(join(ROOT, pkg.exports["."].types));
  });
});

describe("size", () => {
  it("each .wasm the package ships is at most 64 KB", async () => {
    // The shipped builds are the ones package.json's "files" names (the debug build stays home).
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { files: string[] };
    const wasm = pkg.files.filter((f) => f.endsWith(".wasm"));
    expect(wasm.length).toBeGreaterThanOrEqual(2);
    for (const file of wasm) {
      const { size } = await stat(join(ROOT, file));
      expect(size, file).toBeLessThanOrEqual(WASM_LIMIT_BYTES);
    }
  });

  it("the package's JS is at most 30 KB minified (esbuild, its dependency left out)", async () => {
    const result = await build({
      entryPoints: [join(ROOT, "dist/index.js")], bundle: true, minify: true, format: "esm", write: false,
      external: ["@assemblyscript/loader"], platform: "neutral", logLevel: "error",
    });
    const bytes = result.outputFiles[0]!.contents.byteLength;
    expect(bytes).toBeGreaterThan(1000); // a real bundle, not an empty one
    expect(bytes).toBeLessThanOrEqual(JS_LIMIT_BYTES);
  });
});
