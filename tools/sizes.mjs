// The package's sizes, measured (the wasm modules, the JS an app bundles), and the figures the docs quote, written or checked from them.

// node tools/sizes.mjs          prints the sizes
// node tools/sizes.mjs --write  writes them into README.md and docs/*.md between <!-- size:KEY --> and <!-- /size -->
// test/package/size.test.ts holds the sizes to their limits and fails when a quoted figure is stale.

import { build } from "esbuild";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What an app that convolves imports (the API of issue 4's 30 KB limit: set-up, tensors, conv2d, the layer, gradcheck, errors). */
export const CONVOLUTION_API = `export { init, memoryUsage, tensor, zeros, scope, keep, conv2d, conv2dBackward,
  conv2dOutputShape, Conv2d, gradcheckConv2d, relError, ConvError, ErrorCode } from "./dist/index.js";`;
export const WHOLE_API = `export * from "./dist/index.js";`;

/**
 * Bundles `contents` as an app's bundler would (esbuild, minified, code splitting: the thread pool is
 * imported only when threads are asked for, so it lands in a chunk of its own) and returns the bytes
 * an app loads up front (the entry and the chunks it imports statically) and the bytes of the chunks
 * it loads on demand, each with its gzipped size.
 */
export async function bundleSizes(contents) {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "js" }, bundle: true, minify: true, format: "esm", write: false,
    splitting: true, outdir: join(ROOT, "build", ".size"), metafile: true,
    external: ["@assemblyscript/loader"], platform: "neutral", logLevel: "error",
  });
  const byPath = new Map(result.outputFiles.map((f) => [f.path, f.contents]));
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint);
  const upFront = new Set();
  const visit = (name) => {
    if (upFront.has(name)) return;
    upFront.add(name);
    for (const i of outputs[name].imports) if (i.kind === "import-statement" && outputs[i.path]) visit(i.path);
  };
  visit(entry);
  const contentsOf = (name) => byPath.get(join(ROOT, name)) ?? byPath.get(name);
  const sum = (names) => {
    const parts = names.map(contentsOf);
    const joined = Buffer.concat(parts.map((p) => Buffer.from(p)));
    return { bytes: joined.byteLength, gzip: gzipSync(joined, { level: 9 }).byteLength };
  };
  const onDemand = Object.keys(outputs).filter((k) => !upFront.has(k));
  return { upFront: sum([...upFront]), onDemand: sum(onDemand) };
}

/** The shipped .wasm files (package.json "files"), with their gzipped sizes. */
export function wasmSizes() {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  return pkg.files.filter((f) => f.endsWith(".wasm")).map((file) => {
    const bytes = readFileSync(join(ROOT, file));
    return { file, bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
  });
}

export async function measureSizes() {
  const wasm = wasmSizes();
  const convolution = await bundleSizes(CONVOLUTION_API);
  const whole = await bundleSizes(WHOLE_API);
  return { wasm, convolution, whole };
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/** The figures the docs may quote, by key: the text between <!-- size:KEY --> and <!-- /size -->. */
export function quotedFigures(sizes) {
  const largest = sizes.wasm.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const largestGzip = Math.max(...sizes.wasm.map((w) => w.gzip));
  return {
    "wasm": kb(largest.bytes),
    "wasm-gzip": kb(largestGzip),
    "conv-js": kb(sizes.convolution.upFront.bytes),
    "conv-js-gzip": kb(sizes.convolution.upFront.gzip),
    "threads-js": kb(sizes.convolution.onDemand.bytes),
    "whole-js": kb(sizes.whole.upFront.bytes + sizes.whole.onDemand.bytes),
    "whole-js-gzip": kb(sizes.whole.upFront.gzip + sizes.whole.onDemand.gzip),
  };
}

const MARKER = /<!-- size:([a-z-]+) -->([^<]*)<!-- \/size -->/g;

/** README.md and docs/*.md, the files that may quote sizes. */
export function documents() {
  const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f));
  return ["README.md", ...docs].filter((f) => statSync(join(ROOT, f)).isFile());
}

/** Every quoted figure in the documents: { file, key, quoted }. */
export function quotedInDocuments() {
  return documents().flatMap((file) =>
    [...readFileSync(join(ROOT, file), "utf8").matchAll(MARKER)].map((m) => ({ file, key: m[1], quoted: m[2] })));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = await measureSizes();
  const figures = quotedFigures(sizes);
  console.log(JSON.stringify({ ...sizes, figures }, null, 2));
  if (process.argv.includes("--write")) {
    for (const file of documents()) {
      const path = join(ROOT, file);
      const text = readFileSync(path, "utf8");
      const updated = text.replace(MARKER, (all, key) => (key in figures ? `<!-- size:${key} -->${figures[key]}<!-- /size -->` : all));
      if (updated !== text) {
        writeFileSync(path, updated);
        console.log(`wrote ${file}`);
      }
    }
  }
}
