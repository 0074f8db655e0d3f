// Runs the portable timing on the built package from Node, Deno or Bun and prints one JSON report line (bench/runtimes.ts spawns it).
// Arguments: the path of the bundled bench/portable-timing.ts, then its options as JSON.

import * as api from "../../dist/index.js";
import { pathToFileURL } from "node:url";

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const { timeLayers } = await import(pathToFileURL(args[0]).href);
const report = await timeLayers(api, JSON.parse(args[1] ?? "{}"));
console.log("TIMING-REPORT " + JSON.stringify(report));
