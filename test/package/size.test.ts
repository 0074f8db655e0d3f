// The package's promises in package.json (exports with types, no side effects, one runtime dependency) and its size limits.

import { describe, it, expect } from "vitest";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "../runtimes/harness.ts";

/** Limits of the issue: a module small enough to ship in a page without thinking about it. */
const WASM_LIMIT_BYTES = 64 * 1024;
const JS_LIMIT_BYTES = 30 * 1024;
/** Everything, the training layers included (about 35 KB): still small beside any ML framework. */
const WHOLE_JS_LIMIT_BYTES = 50 * 1024; // everything: convolution, training layers, optimisers and the thread pool

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

  // sideEffects: false lets a bundler keep only what an app imports: an app that convolves ships the
  // convolution API (held to the 30 KB), one that trains also ships the training layers.
  const bundled = async (contents: string): Promise<number> => {
    const result = await build({
      stdin: { contents, resolveDir: ROOT, loader: "js" }, bundle: true, minify: true, format: "esm", write: false,
      external: ["@assemblyscript/loader"], platform: "neutral", logLevel: "error",
    });
    return result.outputFiles[0]!.contents.byteLength;
  };

  it("the convolution API's JS is at most 30 KB minified (esbuild, its dependency left out)", async () => {
    const bytes = await bundled(`export { init, memoryUsage, tensor, zeros, scope, keep, conv2d, conv2dBackward,
      conv2dOutputShape, Conv2d, gradcheckConv2d, relError, ConvError, ErrorCode } from "./dist/index.js";`);
    expect(bytes).toBeGreaterThan(1000); // a real bundle, not an empty one
    expect(bytes).toBeLessThanOrEqual(JS_LIMIT_BYTES);
  });

  it("the whole package's JS, training layers and optimisers included, is at most 50 KB minified", async () => {
    const bytes = await bundled(`export * from "./dist/index.js";`);
    expect(bytes).toBeGreaterThan(await bundled(`export { conv2d } from "./dist/index.js";`));
    expect(bytes).toBeLessThanOrEqual(WHOLE_JS_LIMIT_BYTES);
  });
});
