// The Chromium page's script for test/browser/tfjs.test.ts: @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm as an app bundles them (esbuild, their ES modules), the plugin from /dist/tfjs/ (the built package, its .wasm beside it), then the shared checks.
//
// Query: ?seed=N&cases=N&threads=N. Sets window.tfjsReport (the report) or window.tfjsFailure (a broken set-up).

import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerTfjsKernels } from "../../dist/tfjs/index.js";
import { runTfjsSuite } from "./tfjs-suite.ts";

const page = window as unknown as { tfjsReport?: unknown; tfjsFailure?: string };
const params = new URLSearchParams(location.search);
const number = (name: string, fallback: number) => (params.has(name) ? Number(params.get(name)) : fallback);

try {
  // tfjs-backend-wasm fetches its .wasm (in a crossOriginIsolated page, the threaded SIMD one) from here.
  setWasmPaths("/node_modules/@tensorflow/tfjs-backend-wasm/dist/");
  const chrome = navigator.userAgent.match(/(?:HeadlessChrome|Chrome|Chromium)\/([\d.]+)/)?.[1] ?? "?";
  page.tfjsReport = {
    crossOriginIsolated,
    ...(await runTfjsSuite(tf, registerTfjsKernels, {
      runtime: `Chromium ${chrome}`, seed: number("seed", 1), cases: number("cases", 30), backends: ["wasm", "cpu"], threads: number("threads", 1),
    })),
  };
} catch (error) {
  page.tfjsFailure = String((error as Error)?.stack ?? error);
}
