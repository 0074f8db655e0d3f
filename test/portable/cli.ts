// Runs the portable suite on the built package from a command line (Deno, Bun or Node) and prints one JSON report line.

import * as api from "../../dist/index.js";
import { runPortableSuite, REPORT_PREFIX } from "./suite.ts";

const g = globalThis as Record<string, any>;
const args: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
const seed = Number(args[0] ?? 1);
const cases = args[1] ? Number(args[1]) : undefined;
const report = await runPortableSuite(api, { seed, cases });
console.log(REPORT_PREFIX + JSON.stringify(report));
