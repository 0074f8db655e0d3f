// Bundles the example pages' scripts: app.ts → app.js (the package left at /dist), and the train page's worker → build/train-worker.js with the package and its onnx subpath inside; npm run serve runs it first.

import { build } from "esbuild";
import { readFile, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { bundle } from "../bundle.mjs";

export function buildExamplePage() {
  return bundle({
    entry: fileURLToPath(new URL("./app.ts", import.meta.url)),
    outfile: fileURLToPath(new URL("./app.js", import.meta.url)),
    packageUrl: "/dist/index.js",
  });
}

/**
 * The train page's worker (train-worker.js) as one module, build/train-worker.js: `wasm-conv2d`,
 * `wasm-conv2d/onnx` (with @bufbuild/protobuf) and examples/mnist/ bundled in, from dist/ (build it
 * first), as `npm run build` writes it. The file is replaced (written beside it, then renamed) only
 * when its bytes change, so a page loading it meanwhile never reads half of one.
 */
export async function buildTrainWorker() {
  const outfile = fileURLToPath(new URL("../../build/train-worker.js", import.meta.url));
  const { outputFiles } = await build({
    entryPoints: [fileURLToPath(new URL("./train-worker.js", import.meta.url))],
    outfile, bundle: true, format: "esm", logLevel: "warning", write: false,
  });
  const text = outputFiles[0].contents;
  const old = await readFile(outfile).catch(() => null);
  if (!old || Buffer.compare(old, text) !== 0) {
    const temporary = `${outfile}.${process.pid}.tmp`;
    await writeFile(temporary, text);
    await rename(temporary, outfile);
  }
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) await Promise.all([buildExamplePage(), buildTrainWorker()]);
