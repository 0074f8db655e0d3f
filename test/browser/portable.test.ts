// The portable suite in headless Chromium on the built package (dist/, wasm fetched via import.meta.url); same hash as Node.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { serve } from "../../examples/serve.mjs";
import { bundle } from "../../examples/bundle.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";
import { ROOT, SEED, expectPassed, nodeHash } from "../runtimes/harness.ts";
import type { SuiteReport } from "../portable/suite.ts";

const available = chromiumAvailable();

describe.runIf(available)("in Chromium", () => {
  let server: { url: string; close: () => Promise<void> };
  let dir: string;
  beforeAll(async () => {
    server = await serve();
    dir = await mkdtemp(join(ROOT, "test/browser/.tmp-"));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes the portable suite and reproduces Node's results hash bit for bit", async () => {
    await bundle({ entry: join(ROOT, "test/portable/suite.ts"), outfile: join(dir, "suite.js"), packageUrl: "/dist/index.js" });
    await writeFile(join(dir, "portable.html"), `<!doctype html><link rel="icon" href="data:,">
    <script type="importmap">{ "imports": { "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js" } }</script>
    <script type="module">
      import * as api from "/dist/index.js";
      import { runPortableSuite } from "./suite.js";
      window.report = await runPortableSuite(api, { seed: ${SEED} });
    </script>`);
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(`${server.url}/${relative(ROOT, dir)}/portable.html`);
      const handle = await tab.waitForFunction(() => (window as unknown as { report?: unknown }).report, null, { timeout: 60_000 });
      const report = (await handle.jsonValue()) as SuiteReport;
      expect(errors).toEqual([]);
      expect(report.runtime).toMatch(/^Chromium /);
      expectPassed(report);
      expect(report.hash).toBe(await nodeHash());
    } finally {
      await close();
    }
  });
});
