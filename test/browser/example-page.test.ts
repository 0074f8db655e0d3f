// examples/browser/ in Chromium: the gradient checks pass, the quick benchmark fills its table and chart; a screenshot is saved.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { serve } from "../../examples/serve.mjs";
import { buildExamplePage } from "../../examples/browser/build.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";
import { ROOT } from "../runtimes/harness.ts";
import { LAYERS } from "../../bench/lib/layers.ts";
import { DIRECTIONS } from "../../bench/lib/portable-timing.ts";
import type { PageResults } from "../../examples/browser/app.ts";

/** Not committed (.gitignore): look at it to see what a visitor sees. */
export const SCREENSHOT = join(ROOT, "test/browser/.screenshots/example-page.png");

describe.runIf(chromiumAvailable())("the example page", () => {
  let server: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    await buildExamplePage();
    server = await serve();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("runs the gradient check and the quick benchmark and shows them as tables and a bar chart", async () => {
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      await tab.setViewportSize({ width: 1200, height: 900 });
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      // A shorter benchmark than a visitor gets: the test checks the plumbing, not the speed.
      await tab.goto(`${server.url}/examples/browser/?samples=3&minSampleMs=5`);
      await tab.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 120_000, polling: 250 });
      const results = (await tab.evaluate(() => (window as unknown as { results: unknown }).results)) as PageResults;
      expect(errors).toEqual([]);
      expect(results.error).toBeUndefined();
      expect(await tab.evaluate(() => document.body.dataset.state)).toBe("done");

      expect(results.simd).toMatch(/^(fixed|relaxed)$/);
      expect(results.gradcheck.length).toBeGreaterThanOrEqual(7);
      for (const g of results.gradcheck) expect(g.passed, g.name).toBe(true);
      expect(await tab.locator("#gradcheck tbody tr").count()).toBe(results.gradcheck.length);
      expect(await tab.locator("#gradcheck td.fail").count()).toBe(0);

      const quick = LAYERS.filter((l) => l.quick);
      expect(results.bench).toHaveLength(quick.length * DIRECTIONS.length);
      for (const row of results.bench) {
        expect(row.gflops, `${row.layer} ${row.direction}`).toBeGreaterThan(0);
        expect(Number.isFinite(row.gflops)).toBe(true);
      }
      expect(await tab.locator("#bench tbody tr").count()).toBe(quick.length);
      expect(await tab.locator("#bench tbody td", { hasText: "…" }).count()).toBe(0); // every cell filled
      // One bar per layer and direction, each titled with its value.
      expect(await tab.locator("#chart svg rect title").count()).toBe(results.bench.length);
      expect(await tab.locator("#train-link").getAttribute("href")).toBe("./train.html");

      await mkdir(join(ROOT, "test/browser/.screenshots"), { recursive: true });
      await tab.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await close();
    }
  });
});
