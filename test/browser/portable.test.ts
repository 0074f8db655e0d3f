// The portable suite in headless Chromium on the built package (dist/ and dist/onnx/, wasm fetched via import.meta.url, model fixtures fetched); same hash as Node.

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
    // The package and its onnx subpath are served from dist/ (their bare imports mapped to node_modules);
    // the model fixtures are fetched from the server, then the checks see bytes only.
    const protobuf = "/node_modules/@bufbuild/protobuf/dist/esm";
    await writeFile(join(dir, "portable.html"), `<!doctype html><link rel="icon" href="data:,">
    <script type="importmap">{ "imports": {
      "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js",
      "@bufbuild/protobuf": "${protobuf}/index.js", "@bufbuild/protobuf/codegenv2": "${protobuf}/codegenv2/index.js"
    } }</script>
    <script type="module">
      import * as api from "/dist/index.js";
      import * as onnx from "/dist/onnx/index.js";
      import { runPortableSuite, readModelFixtures, MODEL_FIXTURE_DIR } from "./suite.js";
      try {
        const fixtures = await readModelFixtures(async (name) => {
          const response = await fetch("/" + MODEL_FIXTURE_DIR + name);
          if (!response.ok) throw new Error(name + ": HTTP " + response.status);
          return response.arrayBuffer();
        });
        window.report = await runPortableSuite(api, { seed: ${SEED}, models: { onnx, fixtures } });
      } catch (error) {
        window.failure = String(error?.stack ?? error);
      }
    </script>`);
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(`${server.url}/${relative(ROOT, dir)}/portable.html`);
      type Page = { report?: SuiteReport; failure?: string };
      await tab.waitForFunction(() => (window as unknown as Page).report ?? (window as unknown as Page).failure, null, { timeout: 60_000 });
      const { report, failure } = await tab.evaluate(() => ({ report: (window as unknown as Page).report, failure: (window as unknown as Page).failure }));
      expect(failure).toBeUndefined();
      expect(errors).toEqual([]);
      if (!report) throw new Error("no report");
      expect(report.runtime).toMatch(/^Chromium /);
      expect(report.broadcast).toBe("load");
      expectPassed(report);
      expect(report.hash).toBe(await nodeHash());
    } finally {
      await close();
    }
  });
});
