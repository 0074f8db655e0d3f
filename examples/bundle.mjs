// esbuild bundles a TypeScript entry into one ES module for a browser page or a worker; the package is served from /dist or bundled in.

import { build } from "esbuild";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const PACKAGE_SOURCES = [resolve(ROOT, "js/index.ts"), resolve(ROOT, "js/index.js"), resolve(ROOT, "dist/index.js")];

/**
 * Bundles `entry` (a path) into `outfile`. With `packageUrl` (say "/dist/index.js"), every import of
 * the package (js/index or dist/index) stays an import of that URL, so the page runs the built package
 * and init() finds the .wasm beside it; without, the package is bundled in (workerd: pass the Module).
 * `.wasm` imports stay imports (workerd links them as compiled modules), as do those `external` names
 * (say "*.onnx" for workerd's Data modules).
 */
export async function bundle({ entry, outfile, packageUrl, minify = false, external = [] }) {
  const packageAsUrl = {
    name: "package-as-url",
    setup(b) {
      b.onResolve({ filter: /(^|\/)(js|dist)\/index(\.[jt]s)?$/ }, (args) => {
        const target = resolve(args.resolveDir, args.path);
        if (!PACKAGE_SOURCES.includes(target)) return undefined;
        return { path: packageUrl, external: true };
      });
    },
  };
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify,
    logLevel: "error",
    external: ["*.wasm", "node:*", ...external],
    mainFields: ["module", "main"],
    plugins: packageUrl ? [packageAsUrl] : [],
  });
  return outfile;
}
