// npm pack as a user meets it: the tarball installs offline into a fresh project, runs from Node (ESM and require) and through Vite in Chromium, under a strict CSP.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { serve } from "../../examples/serve.mjs";
import { chromiumAvailable, launchChromium } from "../browser/chromium.js";
import { ROOT, run } from "../runtimes/harness.ts";

/** The known answer every consumer checks: a 2×2 kernel [[1, 0], [0, −1]] over 1…9 gives −4 everywhere. */
const CONSUMER_CODE = `
const runtime = await init();
const out = conv2d(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), tensor([1, 0, 0, -1], [1, 1, 2, 2]), null);
const dx = conv2dBackward(tensor([1, 1, 1, 1], [1, 1, 2, 2]), tensor(new Float32Array(9), [1, 1, 3, 3]), tensor([1, 0, 0, -1], [1, 1, 2, 2])).dx;
const result = { out: Array.from(out.toFloat32Array()), dx: Array.from(dx.toFloat32Array()), simd: runtime.simd };`;
// Small integers: exact in either build, so the default init() ("fixed" today, "auto" once the relaxed
// build exists) gives these bits whichever it picks.
const EXPECTED = { out: [-4, -4, -4, -4], dx: [1, 1, 0, 1, 0, -1, 0, -1, -1], simd: expect.stringMatching(/^(fixed|relaxed)$/) };

describe("the packed package", () => {
  let dir: string;
  let app: string;
  let files: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "wasm-conv2d-pack-"));
    app = join(dir, "app");
    const packed = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir])) as { filename: string; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path);
    // Offline: the tarball plus its one runtime dependency, packed from our own node_modules.
    const loader = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir, "./node_modules/@assemblyscript/loader"])) as { filename: string }[];
    await mkdir(app);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", app,
      join(dir, packed[0]!.filename), join(dir, loader[0]!.filename)]);
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("holds the built JS, its types and the wasm, and nothing else", () => {
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("build/conv2d-simd.wasm");
    expect(files).toContain("package.json");
    const unexpected = files.filter((f) => !/^(dist\/|build\/[^/]+\.wasm$|package\.json$|README\.md$|LICENSE)/.test(f));
    expect(unexpected).toEqual([]);
  });

  it("runs from Node as an ES module", async () => {
    await writeFile(join(app, "esm.mjs"), `import { init, tensor, conv2d, conv2dBackward } from "wasm-conv2d";${CONSUMER_CODE}\nconsole.log(JSON.stringify(result));`);
    expect(JSON.parse(await run("node", [join(app, "esm.mjs")]))).toEqual(EXPECTED);
  });

  it("loads with require() from CommonJS (Node 20.19+ loads ES modules synchronously)", async () => {
    await writeFile(join(app, "cjs.cjs"), `const { init, tensor, conv2d, conv2dBackward } = require("wasm-conv2d");
(async () => {${CONSUMER_CODE}\nconsole.log(JSON.stringify(result)); })();`);
    const stdout = await run("node", ["--no-warnings", join(app, "cjs.cjs")]);
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  it("gives TypeScript its types through package.json exports", async () => {
    await writeFile(join(app, "check.ts"), `import { init, tensor, conv2d, type Tensor, type Conv2dOptions } from "wasm-conv2d";
const options: Conv2dOptions = { stride: 2, pad: "same" };
export async function go(): Promise<Tensor> { await init(); return conv2d(tensor([1], [1, 1, 1, 1]), tensor([1], [1, 1, 1, 1]), null, options); }
// @ts-expect-error a typo in an option name is a type error
export const wrong: Conv2dOptions = { strides: 2 };`);
    await writeFile(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom", "esnext.disposable"], types: [] },
      files: ["check.ts"],
    }));
    await run(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(app, "tsconfig.json")]);
  });

  describe.runIf(chromiumAvailable())("built by Vite", () => {
    let outDir: string;
    let server: { url: string; close: () => Promise<void> } | undefined;
    beforeAll(async () => {
      await writeFile(join(app, "index.html"), `<!doctype html><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>`);
      await writeFile(join(app, "main.js"), `import { init, tensor, conv2d, conv2dBackward } from "wasm-conv2d";
try {${CONSUMER_CODE}\nwindow.result = result; } catch (error) { window.result = { error: error.code ?? String(error), message: String(error.message) }; }`);
      outDir = join(app, "dist");
      await build({ root: app, logLevel: "error", configFile: false, build: { outDir, emptyOutDir: true } });
    }, 120_000);
    afterAll(async () => {
      await server?.close();
    });

    async function openPage(csp?: string): Promise<unknown> {
      await server?.close();
      server = await serve({ root: outDir, extraHeaders: csp ? { "content-security-policy": csp } : {} });
      const { context, close } = await launchChromium();
      try {
        const tab = await context.newPage();
        const errors: string[] = [];
        tab.on("pageerror", (e) => errors.push(String(e)));
        await tab.goto(`${server.url}/`);
        const result = await (await tab.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 30_000 })).jsonValue();
        expect(errors).toEqual([]);
        return result;
      } finally {
        await close();
      }
    }

    it("emits the .wasm as an asset from new URL(…, import.meta.url), without copying by hand", async () => {
      const assets = await readdir(join(outDir, "assets"));
      expect(assets.filter((f) => /^conv2d-simd.*\.wasm$/.test(f))).toHaveLength(1);
    });

    it("runs in Chromium", async () => {
      expect(await openPage()).toEqual(EXPECTED);
    });

    it("runs under Content-Security-Policy script-src 'self' 'wasm-unsafe-eval' (no unsafe-eval)", async () => {
      expect(await openPage("script-src 'self' 'wasm-unsafe-eval'")).toEqual(EXPECTED);
    });

    it("cannot compile the wasm under script-src 'self' alone: init() reports ERR_INIT (the CSP is really enforced)", async () => {
      const result = (await openPage("script-src 'self'")) as { error: string; message: string };
      expect(result.error).toBe("ERR_INIT");
      expect(result.message).toMatch(/Content Security Policy|wasm-unsafe-eval/i);
    });
  });
});
