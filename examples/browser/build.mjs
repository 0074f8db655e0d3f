// Bundles the example page's script (app.ts → app.js, the package left at /dist); npm run serve runs it first.

import { fileURLToPath } from "node:url";
import { bundle } from "../bundle.mjs";

export function buildExamplePage() {
  return bundle({
    entry: fileURLToPath(new URL("./app.ts", import.meta.url)),
    outfile: fileURLToPath(new URL("./app.js", import.meta.url)),
    packageUrl: "/dist/index.js",
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await buildExamplePage();
