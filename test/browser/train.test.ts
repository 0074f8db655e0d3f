// The train page in headless Chromium: a short training in a Web Worker lowers the loss and raises accuracy.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { init } from "wasm-conv2d";
import { serve } from "../../examples/serve.mjs";
import { splitDigits } from "../../examples/mnist/data.mjs";
import { loadDigitsNode } from "../../examples/mnist/load-node.mjs";
import { train } from "../../examples/mnist/lenet.mjs";
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

  it("trains in a Web Worker on the package's digits: loss down, accuracy up, charts drawn, the same run as in Node", async () => {
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      const options = { epochs: 3, trainSize: 600, batchSize: 20 };
      const query = Object.entries(options).map(([k, v]) => `${k}=${v}`).join("&");
      await tab.goto(`${server.url}/examples/browser/train.html?${query}&autostart=1`);
      const handle = await tab.waitForFunction(() => (window as unknown as { trainResult?: unknown }).trainResult, null, { timeout: 90_000 });
      const result = await handle.jsonValue() as { error?: string; history?: EpochRecord[] };
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
      expect(await tab.locator("#loss-chart path").count()).toBe(1);
      expect(await tab.locator("#accuracy-chart path").count()).toBe(2);
      expect(await tab.locator("#status").textContent()).toMatch(/^test accuracy: \d+\.\d\d%/);
      // The same seed in Node gives the same run, bit for bit: same kernels, same fixed-SIMD arithmetic.
      await init({ simd: "fixed" });
      const inNode = train(splitDigits(loadDigitsNode()), options);
      inNode.model.dispose();
      expect(history.map((r) => [r.loss, r.testAccuracy])).toEqual(inNode.history.map((r) => [r.loss, r.testAccuracy]));
    } finally {
      await close();
    }
  });
});
