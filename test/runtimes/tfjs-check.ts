// The TensorFlow.js plugin's checks (test/browser/tfjs-suite.ts) from a command line — Node (tsx), Deno, Bun — on the built package; prints one JSON report line.
//
//   node_modules/.bin/tsx test/runtimes/tfjs-check.ts [seed] [cases] [threads]
//   deno run --no-lock --allow-read --allow-env test/runtimes/tfjs-check.ts [seed] [cases] [threads]
//   bun test/runtimes/tfjs-check.ts [seed] [cases] [threads]
//
// @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are imported by their bare names from the
// repository's node_modules (Deno resolves them through package.json, as it does the package's own
// @assemblyscript/loader). tfjs-backend-wasm loads in all three (4.22.0: Node 20, Deno 2.9, Bun 1.4):
// its Emscripten glue takes the Node path in each (Deno and Bun have `process`), reading the .wasm
// from the directory given to setWasmPaths. Deno needs --allow-read only (node_modules, the two
// .wasm files, the plugin's worker.js for threads); --allow-env lets this script read
// WASM_CONV2D_TFJS_BACKENDS. So both "wasm" and "cpu" are checked everywhere; WASM_CONV2D_TFJS_BACKENDS
// (say "cpu") narrows that. threads > 1 runs the plugin's worker pool (Node worker_threads, Deno and
// Bun Workers) and requires one thread's bits.

import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerTfjsKernels } from "../../dist/tfjs/index.js";
import { runTfjsSuite, TFJS_REPORT_PREFIX, type TfjsBackend } from "../browser/tfjs-suite.ts";

const g = globalThis as Record<string, any>;
const args: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const env = (name: string): string | undefined => {
  try {
    return g.Deno ? g.Deno.env.get(name) : g.process.env[name];
  } catch {
    return undefined; // Deno without --allow-env
  }
};
const seed = Number(args[0] ?? 1);
const cases = args[1] ? Number(args[1]) : undefined;
const threads = args[2] ? Number(args[2]) : 1;
const runtime = g.Deno ? `Deno ${g.Deno.version.deno}` : g.Bun ? `Bun ${g.Bun.version}` : `Node ${g.process.version}`;
const backends = (env("WASM_CONV2D_TFJS_BACKENDS")?.split(",") ?? ["wasm", "cpu"]) as TfjsBackend[];

// A file path: the Emscripten glue reads it with fs in all three runtimes.
setWasmPaths(decodeURIComponent(new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).pathname));
// tfjs's own "Hi there 👋 … install tfjs-node" notice and kernel-registration warnings go to the console, not the report line.
const report = await runTfjsSuite(tf, registerTfjsKernels, { runtime, seed, cases, backends, threads });
console.log(TFJS_REPORT_PREFIX + JSON.stringify(report));
