// The train page in headless Chromium: short LeNet, ResNet and autoencoder trainings in a Web Worker learn, draw their charts and picture, and give Node's bits.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { init } from "wasm-conv2d";
import { serve } from "../../examples/serve.mjs";
import { splitDigits } from "../../examples/mnist/data.mjs";
import { loadDigitsNode } from "../../examples/mnist/load-node.mjs";
import { train } from "../../examples/mnist/lenet.mjs";
import { trainResNet } from "../../examples/mnist/resnet.mjs";
import { reconstruct, trainAutoencoder } from "../../examples/mnist/autoencoder.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";

const available = chromiumAvailable();

interface EpochRecord { loss: number; trainAccuracy: number; testAccuracy: number }

describe.runIf(available)("the train page in Chromium", () => {
  let server: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Loads the train page with a query, waits for its result; fails on any page or console error. */
  async function runPage(query: string) {
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await tab.goto(`${server.url}/examples/browser/train.html?${query}&autostart=1`);
      const handle = await tab.waitForFunction(() => (window as unknown as { trainResult?: unknown }).trainResult, null, { timeout: 110_000 });
      const result = await handle.jsonValue() as {
        error?: string; history?: (EpochRecord & { testError: number })[]; grid?: { count: number; originals: number[]; reconstructions: number[] } | null;
      };
      const paths = { loss: await tab.locator("#loss-chart path").count(), accuracy: await tab.locator("#accuracy-chart path").count() };
      const status = await tab.locator("#status").textContent();
      // The canvas's pixels: how many are dark (ink), to see that digits were drawn.
      const ink = await tab.evaluate(() => {
        const canvas = document.getElementById("reconstructions") as HTMLCanvasElement;
        if (canvas.hidden || canvas.width === 0) return -1;
        const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        let dark = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i]! < 128) dark++;
        return dark;
      });
      return { result, errors, paths, status, ink };
    } finally {
      await close();
    }
  }

  it("trains in a Web Worker on the package's digits: loss down, accuracy up, charts drawn, the same run as in Node", async () => {
    const options = { epochs: 3, trainSize: 600, batchSize: 20 };
    const { result, errors, paths, status } = await runPage(Object.entries(options).map(([k, v]) => `${k}=${v}`).join("&"));
    expect(result.error).toBeUndefined();
    expect(errors).toEqual([]);
    const history = result.history!;
    expect(history).toHaveLength(3);
    expect(history[2]!.loss).toBeLessThan(history[0]!.loss);
    expect(history[2]!.trainAccuracy).toBeGreaterThan(history[0]!.trainAccuracy);
    expect(history[2]!.testAccuracy).toBeGreaterThan(history[0]!.testAccuracy);
    // 600 digits, 90 steps: far above the 10 % of guessing.
    expect(history[2]!.testAccuracy).toBeGreaterThan(0.7);
    // The live plots: a loss curve and two accuracy curves with a point per epoch.
    expect(paths).toEqual({ loss: 1, accuracy: 2 });
    expect(status).toMatch(/^test accuracy: \d+\.\d\d%/);
    // The same seed in Node gives the same run, bit for bit: same kernels, same fixed-SIMD arithmetic.
    await init({ simd: "fixed" });
    const inNode = train(splitDigits(loadDigitsNode()), options);
    inNode.model.dispose();
    expect(history.map((r) => [r.loss, r.testAccuracy])).toEqual(inNode.history.map((r) => [r.loss, r.testAccuracy]));
  });

  it("trains the ResNet (batch norm, residual blocks) in the worker with its loss curve, the same run as in Node", async () => {
    const options = { epochs: 2, trainSize: 320, batchSize: 32, seed: 2 };
    const { result, errors, paths, status } = await runPage(`model=resnet&${Object.entries(options).map(([k, v]) => `${k}=${v}`).join("&")}`);
    expect(result.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(result.history).toHaveLength(2);
    expect(result.history![1]!.loss).toBeLessThan(result.history![0]!.loss);
    expect(paths).toEqual({ loss: 1, accuracy: 2 });
    expect(status).toMatch(/^test accuracy: \d+\.\d\d%/);
    await init({ simd: "fixed" });
    const inNode = trainResNet(splitDigits(loadDigitsNode()), { ...options, lr: 2e-3 });
    inNode.model.dispose();
    expect(result.history!.map((r) => [r.loss, r.trainAccuracy, r.testAccuracy])).toEqual(inNode.history.map((r) => [r.loss, r.trainAccuracy, r.testAccuracy]));
  });

  it("trains the autoencoder (transposed convolutions) in the worker and draws test digits beside their reconstructions, Node's bits", async () => {
    const options = { epochs: 1, trainSize: 1000, batchSize: 32, seed: 3 };
    const { result, errors, paths, status, ink } = await runPage(`model=autoencoder&${Object.entries(options).map(([k, v]) => `${k}=${v}`).join("&")}`);
    expect(result.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(paths).toEqual({ loss: 1, accuracy: 1 });
    expect(status).toMatch(/^test reconstruction error: \d\.\d{5}/);
    expect(result.grid!.count).toBe(16);
    // Digits drawn in both rows: ink is a few percent of each digit's 56×56 cell.
    expect(ink).toBeGreaterThan(2 * 16 * 56 * 56 * 0.05);
    await init({ simd: "fixed" });
    const data = splitDigits(loadDigitsNode());
    const inNode = trainAutoencoder(data, { ...options, lr: 2e-3 });
    const reconstructions = reconstruct(inNode.model, data.test, 16);
    inNode.model.dispose();
    expect(result.history!.map((r) => [r.loss, r.testError])).toEqual(inNode.history.map((r) => [r.loss, r.testError]));
    expect(result.grid!.reconstructions).toEqual(Array.from(reconstructions));
  });
});
