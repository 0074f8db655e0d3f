// Runs the portable timing on the built package from Node, Deno or Bun and prints one JSON report line (bench/runtimes.ts spawns it).
// Arguments: the path of the bundled bench/lib/portable-timing.ts, then its options as JSON.

import * as api from "../../dist/index.js";
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const { timeLayers } = await import(pathToFileURL(args[0]).href);
// The ceiling probes (node tools/build.mjs --bench): node:fs, which all three runtimes provide.
const probe = (file) => readFile(new URL(`../../build/${file}`, import.meta.url));
const ceiling = { fixed: await probe("ceiling-simd.wasm"), relaxed: await probe("ceiling-relaxed.wasm") };
const report = await timeLayers(api, { ...JSON.parse(args[1] ?? "{}"), ceiling });
console.log("TIMING-REPORT " + JSON.stringify(report));
