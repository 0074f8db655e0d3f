// Threads in Chromium: a cross-origin-isolated page runs the pool in module Web Workers with the single-thread build's bits.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { serve } from "../../examples/serve.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";

describe.runIf(chromiumAvailable())("threads in Chromium", () => {
  let server: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("starts a 2-thread pool (COOP/COEP page) whose results, async and synchronous (the page's thread spinning), equal one thread's bit for bit", async () => {
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(`${server.url}/bench/browser/threads.html?mode=test&threads=2`);
      const result = await (await tab.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 60_000 })).jsonValue();
      expect(errors).toEqual([]);
      expect(result).toEqual({ crossOriginIsolated: true, threads: 2, simd: "fixed", checks: [true, true, true, true, true, true] });
    } finally {
      await close();
    }
  });
});
