// Runs the cross-runtime reproduction in Node, Deno or Bun and prints one JSON line (bench/runtime-probe.ts spawns it).
// Arguments: the path of build/runtime-probe.wasm, then the options of probe() as JSON.

import { readFile } from "node:fs/promises";
import { probe } from "./probe-timing.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const report = await probe(await WebAssembly.compile(await readFile(args[0])), JSON.parse(args[1] ?? "{}"));
console.log("PROBE-REPORT " + JSON.stringify(report));
