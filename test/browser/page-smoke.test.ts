// The built package runs in headless Chromium: init() fetches the relaxed-SIMD wasm via import.meta.url, conv2d gives the known answer.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../../examples/serve.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const available = chromiumAvailable();

describe.runIf(available)("in Chromium", () => {
  let server: { url: string; close: () => Promise<void> };
  let dir: string;
  beforeAll(async () => {
    server = await serve();
    dir = await mkdtemp(join(root, "test/browser/.tmp-"));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("loads the package from dist/, fetches the wasm beside it and computes a convolution", async () => {
    const page = join(dir, "smoke.html");
    // Without a bundler, the bare specifier of the one dependency is mapped by hand.
    await writeFile(page, `<!doctype html><link rel="icon" href="data:,">
    <script type="importmap">{ "imports": { "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js" } }</script>
    <script type="module">
      import { init, tensor, conv2d } from "/dist/index.js";
      const runtime = await init();
      const out = conv2d(tensor([1,2,3,4,5,6,7,8,9], [1,1,3,3]), tensor([1,0,0,-1], [1,1,2,2]), null);
      window.result = { values: Array.from(out.toFloat32Array()), simd: runtime.simd, isolated: crossOriginIsolated };
    </script>`);
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await tab.goto(`${server.url}/${relative(root, page)}`);
      const result = await tab.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 30_000 });
      expect(errors).toEqual([]);
      expect(await result.jsonValue()).toEqual({ values: [-4, -4, -4, -4], simd: "relaxed", isolated: true });
    } finally {
      await close();
    }
  });
});
