// npm run bench:browser-threads: forward on L2–L6 in Chromium (cross-origin isolated), this library's threads against tfjs-wasm's threaded SIMD build.

import os from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { serve } from "../examples/serve.mjs";
import { launchChromium } from "../test/browser/chromium.js";

interface Row { layer: string; ours1: number; oursN: number; oursSync: number; tfjs: number }

const threads = Number(process.argv[2] ?? os.availableParallelism());
const server = await serve();
const { context, close } = await launchChromium();
try {
  const tab = await context.newPage();
  await tab.goto(`${server.url}/bench/browser/threads.html?mode=bench&threads=${threads}`);
  const handle = await tab.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 300_000 });
  const result = (await handle.jsonValue()) as { error?: string; rows: Row[]; tfjsThreads: number; simd: string; userAgent: string; crossOriginIsolated: boolean };
  if (result.error) throw new Error(result.error);
  console.log(`Chromium (${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? "?"}), crossOriginIsolated ${result.crossOriginIsolated}, `
    + `wasm-conv2d ${result.simd} build, ${threads} threads; tfjs-wasm threaded SIMD, ${result.tfjsThreads} threads`);
  console.log("forward, GFLOP/s (median)   wasm-conv2d 1 thread   threads, async   threads, sync   tfjs-wasm threads   ours (async) ÷ tfjs   ours (sync) ÷ tfjs");
  for (const r of result.rows) {
    console.log(`${r.layer.padEnd(28)}${r.ours1.toFixed(1).padStart(21)}${r.oursN.toFixed(1).padStart(17)}${r.oursSync.toFixed(1).padStart(16)}`
      + `${r.tfjs.toFixed(1).padStart(20)}${(r.oursN / r.tfjs).toFixed(2).padStart(21)}×${(r.oursSync / r.tfjs).toFixed(2).padStart(20)}×`);
  }
  const date = new Date().toISOString().slice(0, 16).replace(":", "-");
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await writeFile(new URL(`./results/browser-threads-${date}.json`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), threads, ...result }, null, 1) + "\n");
  console.log(`wrote bench/results/browser-threads-${date}.json`);
} finally {
  await close();
  await server.close();
}
