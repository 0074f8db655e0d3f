// The train page in headless Chromium fine-tunes a picked .onnx or .safetensors LeNet (PyTorch's fixtures), shows its accuracy before and after, offers it back as files Node reads; wrong files say what is wrong.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import {
  init, Adam, countCorrect, loadSafetensors, scope, softmaxCrossEntropy, tensor, type Layer, type Sequential,
} from "wasm-conv2d";
import { importOnnx } from "wasm-conv2d/onnx";
import { serve } from "../../examples/serve.mjs";
import { buildTrainWorker } from "../../examples/browser/build.mjs";
import { epochBatches, splitDigits, IMAGE_SIZE, type DigitSet } from "../../examples/mnist/data.mjs";
import { loadDigitsNode } from "../../examples/mnist/load-node.mjs";
import { DEFAULTS, evaluate, leNet } from "../../examples/mnist/lenet.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/models/", import.meta.url));
/** A short fine-tuning: one epoch on 1,000 digits, 63 steps of Adam (about 88 % from the fixtures' 15.65 %). */
const OPTIONS = { epochs: 1, trainSize: 1000, batchSize: 16 };
const SETTINGS = { ...DEFAULTS, ...OPTIONS };
/** The LeNet's state dict, as examples/mnist/lenet.mjs and PyTorch's twin name it. */
const LENET_SHAPES: Record<string, number[]> = {
  "0.weight": [8, 1, 5, 5], "0.bias": [8], "3.weight": [16, 8, 5, 5], "3.bias": [16], "7.weight": [10, 784], "7.bias": [10],
};
/** PyTorch's accuracy of the untrained fixture net on the 2,000 test digits (test/fixtures/models/README.md). */
const FIXTURE_ACCURACY = 0.1565;

interface EpochRecord { loss: number; trainAccuracy: number; testAccuracy: number }
interface PageResult {
  error?: string; name?: string; code?: string;
  model?: string; format?: string; before?: number; after?: number; history?: EpochRecord[];
  downloads?: { safetensors: { name: string; bytes: number } | null; onnx: { name: string; bytes: number } | null };
}
interface Reference { before: number; after: number; history: EpochRecord[]; state: Record<string, Float32Array> }

/** Node's fine-tuning of the same model: Adam on the same batches, as examples/mnist/trainer.mjs runs it, written out again here. */
function fineTuneInNode(model: Layer, data: { train: DigitSet; test: DigitSet }): Reference {
  const asSequential = model as unknown as Sequential;
  try {
    const before = evaluate(asSequential, data.test);
    const optimizer = new Adam(model.parameters(), { lr: SETTINGS.lr });
    const history: EpochRecord[] = [];
    for (let epoch = 1; epoch <= SETTINGS.epochs; epoch++) {
      let lossSum = 0, correct = 0;
      for (const batch of epochBatches(data.train, { ...SETTINGS, epoch })) {
        optimizer.lr = SETTINGS.lr * SETTINGS.lrDecay ** (epoch - 1);
        const { loss, hits } = scope(() => {
          const logits = model.forward(tensor(batch.images, [batch.count, 1, IMAGE_SIZE, IMAGE_SIZE]));
          const { loss, grad } = softmaxCrossEntropy(logits, batch.labels);
          const hits = countCorrect(logits, batch.labels);
          optimizer.zeroGrad();
          model.backward(grad, { inputGrad: false });
          optimizer.step();
          return { loss, hits };
        });
        lossSum += loss * batch.count;
        correct += hits;
      }
      history.push({ loss: lossSum / SETTINGS.trainSize, trainAccuracy: correct / SETTINGS.trainSize, testAccuracy: evaluate(asSequential, data.test) });
    }
    optimizer.dispose();
    const state = Object.fromEntries(Object.entries(asSequential.stateDict()).map(([name, t]) => [name, t.toFloat32Array()]));
    return { before, after: evaluate(asSequential, data.test), history, state };
  } finally {
    model.dispose();
  }
}

describe.runIf(chromiumAvailable())("fine-tuning a model file on the train page in Chromium", () => {
  let server: { url: string; close: () => Promise<void> };
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let tab: Page;
  const errors: string[] = [];
  let onnxBytes: Uint8Array, safetensorsBytes: Uint8Array;
  let data: { train: DigitSet; test: DigitSet };

  beforeAll(async () => {
    await buildTrainWorker();
    server = await serve();
    // Copies: a Node Buffer's slice() is a view, so hand the library plain Uint8Arrays.
    onnxBytes = new Uint8Array(await readFile(join(FIXTURES, "lenet.onnx")));
    safetensorsBytes = new Uint8Array(await readFile(join(FIXTURES, "lenet.safetensors")));
    await init({ simd: "fixed" });
    data = splitDigits(loadDigitsNode());
    browser = await launchChromium();
    tab = await browser.context.newPage();
    tab.on("pageerror", (e) => errors.push(String(e)));
    tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    // One tab for every file, as a visitor would: each error must leave the page ready for the next one.
    await tab.goto(`${server.url}/examples/browser/train.html?${Object.entries(OPTIONS).map(([k, v]) => `${k}=${v}`).join("&")}`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Picks the file (a fixture's path, or a name and bytes), presses fine-tune, waits for the page's result. */
  async function fineTune(file: string | { name: string; buffer: Uint8Array }) {
    await tab.setInputFiles("#finetune input[type=file]",
      typeof file === "string" ? file : { name: file.name, mimeType: "application/octet-stream", buffer: Buffer.from(file.buffer) });
    await tab.click("#finetune-button");
    const handle = await tab.waitForFunction(() => (window as unknown as { trainResult?: unknown }).trainResult, null, { timeout: 110_000 });
    return {
      result: await handle.jsonValue() as PageResult,
      status: await tab.locator("#status").textContent(),
      downloadsShown: await tab.locator("#downloads").isVisible(),
      paths: { loss: await tab.locator("#loss-chart path").count(), accuracy: await tab.locator("#accuracy-chart path").count() },
      buttons: { train: await tab.locator("#train").isEnabled(), finetune: await tab.locator("#finetune-button").isEnabled() },
    };
  }

  /** Clicks a download link; the file's suggested name and bytes. */
  async function download(selector: string) {
    const [file] = await Promise.all([tab.waitForEvent("download"), tab.click(selector)]);
    return { name: file.suggestedFilename(), bytes: new Uint8Array(await readFile(await file.path())) };
  }

  /** The downloaded .safetensors: the LeNet's six tensors, F32, with Node's fine-tuned values bit for bit. */
  function expectLeNetFile(bytes: Uint8Array, reference: Reference) {
    const dict = loadSafetensors(bytes);
    expect(Object.keys(dict).sort()).toEqual(Object.keys(LENET_SHAPES).sort());
    for (const [name, shape] of Object.entries(LENET_SHAPES)) {
      expect(dict[name]!.dtype).toBe("F32");
      expect(dict[name]!.shape).toEqual(shape);
      expect(dict[name]!.data).toEqual(reference.state[name]);
    }
  }

  async function expectFineTuned(run: Awaited<ReturnType<typeof fineTune>>, format: string, reference: Reference, stem: string) {
    const { result, status, downloadsShown, paths, buttons } = run;
    expect(result.error).toBeUndefined();
    expect(result.format).toBe(format);
    // Before: the fixture's own accuracy, PyTorch's 15.65 %, in eval mode, the same as Node's.
    expect(result.before).toBe(reference.before);
    expect(result.before).toBeCloseTo(FIXTURE_ACCURACY, 4);
    // After: one short epoch lifts it far above; the page's run is Node's, step for step.
    expect(result.after).toBeGreaterThan(0.8);
    expect(result.after).toBe(reference.after);
    expect(result.history!.map((r) => [r.loss, r.trainAccuracy, r.testAccuracy]))
      .toEqual(reference.history.map((r) => [r.loss, r.trainAccuracy, r.testAccuracy]));
    expect(status).toMatch(/^test accuracy: 15\.65% before, \d\d\.\d\d% after fine-tuning/);
    expect(paths).toEqual({ loss: 1, accuracy: 2 });
    expect(buttons).toEqual({ train: true, finetune: true });
    expect(downloadsShown).toBe(true);

    const safetensors = await download("#download-safetensors");
    expect(safetensors.name).toBe(`${stem}-finetuned.safetensors`);
    expect(safetensors.bytes.length).toBe(result.downloads!.safetensors!.bytes);
    expectLeNetFile(safetensors.bytes, reference);
    // The .onnx, imported in Node, scores what the page measured.
    const onnx = await download("#download-onnx");
    expect(onnx.name).toBe(`${stem}-finetuned.onnx`);
    const reimported = importOnnx(onnx.bytes);
    try {
      expect(evaluate(reimported as unknown as Sequential, data.test)).toBe(result.after);
    } finally {
      reimported.dispose();
    }
    expect(errors).toEqual([]);
  }

  it("imports PyTorch's lenet.onnx, fine-tunes it from 15.65 % to over 80 %, and gives it back as .safetensors and .onnx", async () => {
    const reference = fineTuneInNode(importOnnx(onnxBytes), data);
    await expectFineTuned(await fineTune(join(FIXTURES, "lenet.onnx")), "onnx", reference, "lenet");
  });

  it("names what is wrong with a wrong file, and the page stays usable", async () => {
    const cases: [string, Uint8Array, string, RegExp][] = [
      ["lenet.safetensors", onnxBytes, "ERR_MODEL_FILE", /^error in "lenet\.safetensors": ConvError \(ERR_MODEL_FILE\): loadSafetensors: bytes: expected a header length within the file's/],
      ["truncated.onnx", onnxBytes.subarray(0, 20_000), "ERR_MODEL_FILE", /^error in "truncated\.onnx": ConvError \(ERR_MODEL_FILE\): importOnnx: bytes: expected an ONNX ModelProto/],
      ["truncated.safetensors", safetensorsBytes.subarray(0, 40_000), "ERR_MODEL_FILE",
        /^error in "truncated\.safetensors": ConvError \(ERR_MODEL_FILE\): loadSafetensors: bytes: expected "7\.weight" with data_offsets \[begin, end\] within the 39536 data bytes/],
      ["resnet.safetensors", new Uint8Array(await readFile(join(FIXTURES, "resnet.safetensors"))), "ERR_STATE_DICT",
        /^error in "resnet\.safetensors": ConvError \(ERR_STATE_DICT\): Sequential\.loadStateDict: dict: expected the 6 keys and shapes of this model's stateDict\(\), received missing "0\.bias"/],
      // A sound ONNX graph, but not of digits: its first conv wants 3 channels.
      ["ops.onnx", new Uint8Array(await readFile(join(FIXTURES, "ops.onnx"))), "ERR_CHANNELS",
        /^error in "ops\.onnx": ConvError \(ERR_CHANNELS\): OnnxModel\.forward: node "\/conv\/Conv" \(Conv\): Conv2d\.forward: x: expected \[N, 3, H, W\]/],
      ["weights.txt", safetensorsBytes, "", /^error in "weights\.txt": Error: "weights\.txt" is neither a \.onnx nor a \.safetensors file$/],
    ];
    for (const [name, buffer, code, message] of cases) {
      const { result, status, downloadsShown, buttons } = await fineTune({ name, buffer });
      expect(result.error, name).toBeDefined();
      expect(result.code ?? "", name).toBe(code);
      expect(status, name).toMatch(message);
      expect(downloadsShown, name).toBe(false);
      expect(buttons, name).toEqual({ train: true, finetune: true });
    }
    expect(errors).toEqual([]);
  });

  it("loads PyTorch's lenet.safetensors into the library's LeNet (strict), fine-tunes it the same way and gives it back", async () => {
    const lenet = leNet(SETTINGS.seed);
    lenet.loadStateDict(loadSafetensors(safetensorsBytes), { strict: true });
    const reference = fineTuneInNode(lenet, data);
    await expectFineTuned(await fineTune(join(FIXTURES, "lenet.safetensors")), "safetensors", reference, "lenet");
  });
});
