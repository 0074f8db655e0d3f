// npm run bench:runtimes: Node 20 runs no TypeScript, so this compiles bench/runtimes.ts (esbuild) beside itself and runs it.

import { build } from "esbuild";
import { rm } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const outfile = fileURLToPath(new URL("./.runtimes.compiled.mjs", import.meta.url));
// Packages and the .mjs helpers stay imports; the output sits in bench/ so their relative paths still hold.
await build({
  entryPoints: [fileURLToPath(new URL("./runtimes.ts", import.meta.url))],
  outfile, bundle: true, platform: "node", format: "esm", target: "node20", packages: "external",
  external: ["*.mjs"], logLevel: "error",
});
try {
  await import(pathToFileURL(outfile).href);
} finally {
  await rm(outfile, { force: true });
}
