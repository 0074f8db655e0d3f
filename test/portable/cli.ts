// Runs the portable suite on the built package from a command line (Deno, Bun or Node) and prints one JSON report line.

import * as api from "../../dist/index.js";
import * as onnx from "../../dist/onnx/index.js";
import { runPortableSuite, readModelFixtures, REPORT_PREFIX, MODEL_FIXTURE_DIR } from "./suite.ts";

const g = globalThis as Record<string, any>;
const args: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const seed = Number(args[0] ?? 1);
const cases = args[1] ? Number(args[1]) : undefined;
// The fixtures by each runtime's own file API (the checks themselves see bytes only).
const fixtureUrl = (name: string) => new URL(`../../${MODEL_FIXTURE_DIR}${name}`, import.meta.url);
const read = async (name: string): Promise<Uint8Array | ArrayBuffer> => {
  if (g.Deno) return g.Deno.readFile(fixtureUrl(name));
  if (g.Bun) return g.Bun.file(fixtureUrl(name)).arrayBuffer();
  const fs = "node:fs/promises"; // computed: the suite's files import nothing from node: statically
  return (await import(/* @vite-ignore */ fs)).readFile(fixtureUrl(name));
};
const report = await runPortableSuite(api, { seed, cases, models: { onnx, fixtures: await readModelFixtures(read) } });
console.log(REPORT_PREFIX + JSON.stringify(report));
