// npm pack as a user meets it: packed from a clean checkout (prepack builds), installed offline into a fresh project, run from Node (ESM, require), type-checked with every TypeScript block of the README, and built by Vite for Chromium under a strict CSP.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "vite";
import { serve } from "../../examples/serve.mjs";
import { chromiumAvailable, launchChromium } from "../browser/chromium.js";
import { ROOT, binary, run } from "../runtimes/harness.ts";

/** The known answer every consumer checks: a 2×2 kernel [[1, 0], [0, −1]] over 1…9 gives −4 everywhere. */
const CONSUMER_CODE = `
const runtime = await init();
const out = conv2d(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), tensor([1, 0, 0, -1], [1, 1, 2, 2]), null);
const dx = conv2dBackward(tensor([1, 1, 1, 1], [1, 1, 2, 2]), tensor(new Float32Array(9), [1, 1, 3, 3]), tensor([1, 0, 0, -1], [1, 1, 2, 2])).dx;
const result = { out: Array.from(out.toFloat32Array()), dx: Array.from(dx.toFloat32Array()), simd: runtime.simd };`;
// Small integers: exact in either build, so the default init() gives these bits whichever it picks.
const EXPECTED = { out: [-4, -4, -4, -4], dx: [1, 1, 0, 1, 0, -1, 0, -1, -1], simd: expect.stringMatching(/^(fixed|relaxed)$/) };

/** The TypeScript blocks of a Markdown file, in order. */
function typescriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

const tsc = (...args: string[]) => run(join(ROOT, "node_modules/.bin/tsc"), args);

describe("the packed package", () => {
  let dir: string;
  let checkout: string;
  let app: string;
  let files: string[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "wasm-conv2d-pack-"));
    // A clean checkout: the files git tracks (and new ones it would), with no dist/ or build/, so
    // that npm pack's prepack has to build them — as it must for a fresh clone.
    checkout = join(dir, "checkout");
    const listed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" })
      .split("\0").filter((f) => f && !f.startsWith("node_modules/"));
    for (const file of listed) {
      await mkdir(dirname(join(checkout, file)), { recursive: true });
      await copyFile(join(ROOT, file), join(checkout, file)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e; // a file deleted in the working tree but not yet in git
      });
    }
    await symlink(join(ROOT, "node_modules"), join(checkout, "node_modules"), "dir");
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: checkout, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000,
    })) as { filename: string; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path).sort();
    // Offline: the tarball plus its runtime dependencies (the loader; protobuf-es for the onnx subpath), packed from our own node_modules.
    const loader = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir, "./node_modules/@assemblyscript/loader"])) as { filename: string }[];
    const protobuf = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir, "./node_modules/@bufbuild/protobuf"])) as { filename: string }[];
    // A fresh project as the README sets one up: npm init -y, then type=module for top-level await.
    app = join(dir, "app");
    await mkdir(app);
    execFileSync("npm", ["init", "-y"], { cwd: app, stdio: "ignore" });
    execFileSync("npm", ["pkg", "set", "type=module"], { cwd: app, stdio: "ignore" });
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", app,
      join(dir, packed[0]!.filename), join(dir, loader[0]!.filename), join(dir, protobuf[0]!.filename)]);
  }, 400_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is built by prepack in a clean checkout, and holds the built JS with its types and maps, the wasm, README, LICENSE — nothing else", async () => {
    const sources = (await readdir(join(ROOT, "js"), { recursive: true })).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { files: string[] };
    const expected = [
      ...sources.flatMap((f) => [`dist/${f}.js`, `dist/${f}.d.ts`, `dist/${f}.js.map`]),
      ...pkg.files.filter((f) => f.endsWith(".wasm")),
      "LICENSE", "README.md", "package.json",
    ].sort();
    expect(files).toEqual(expected);
    expect(pkg.files.filter((f) => f.endsWith(".wasm"))).toHaveLength(4);
  });

  it("builds only what is out of date: nothing after the pack's build, then only what a changed source feeds", async () => {
    // The build logs each step it runs to stderr ("built dist/ (2.9 s)").
    const stepsRun = () => [...execFileSync("sh", ["-c", "node tools/build.mjs 2>&1 >/dev/null"], { cwd: checkout, encoding: "utf8" })
      .matchAll(/^built (\S+)/gm)].map((m) => m[1]);
    const started = Date.now();
    expect(stepsRun()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Touched now: later than the outputs the pack built, earlier than those the next build makes.
    await utimes(join(checkout, "js/index.ts"), new Date(), new Date());
    expect(stepsRun()).toEqual(["dist/", "build/train-worker.js"]);
    await utimes(join(checkout, "assembly/floats.ts"), new Date(), new Date());
    expect(stepsRun()).toEqual(["build/conv2d-simd.wasm", "build/conv2d-relaxed.wasm", "build/conv2d-simd.debug.wasm",
      "build/conv2d-simd-threads.wasm", "build/conv2d-relaxed-threads.wasm"]);
  }, 120_000);

  it("has source maps that carry their sources (the .ts files are not shipped)", async () => {
    const dist = join(app, "node_modules/wasm-conv2d/dist");
    const maps = (await readdir(dist, { recursive: true })).filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(await readFile(join(dist, map), "utf8")) as { sources: string[]; sourcesContent?: string[] };
      expect(sourcesContent?.length, map).toBe(sources.length);
      for (const content of sourcesContent!) expect(content.length, map).toBeGreaterThan(100);
    }
  });

  it("runs from Node as an ES module", async () => {
    await writeFile(join(app, "esm.mjs"), `import { init, tensor, conv2d, conv2dBackward } from "wasm-conv2d";${CONSUMER_CODE}\nconsole.log(JSON.stringify(result));`);
    expect(JSON.parse(await run("node", [join(app, "esm.mjs")]))).toEqual(EXPECTED);
  });

  it("runs wasm-conv2d/tfjs with the app's own TensorFlow.js: a tf.layers CNN trains on tfjs's wasm backend", async () => {
    // tfjs is the app's dependency, never this package's: linked in as `npm install @tensorflow/tfjs` would put it.
    await symlink(join(ROOT, "node_modules/@tensorflow"), join(app, "node_modules/@tensorflow"), "dir");
    await writeFile(join(app, "tfjs.mjs"), `import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTfjsKernels } from "wasm-conv2d/tfjs";
const registration = await registerTfjsKernels(tf);
await tf.setBackend("wasm");
const model = tf.sequential({ layers: [
  tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: "same", activation: "relu" }),
  tf.layers.flatten(), tf.layers.dense({ units: 2 }),
] });
model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
const xs = tf.randomNormal([8, 8, 8, 1], 0, 1, "float32", 1), ys = tf.randomNormal([8, 2], 0, 1, "float32", 2);
const history = await model.fit(xs, ys, { epochs: 5, batchSize: 8, verbose: 0 });
console.log(JSON.stringify({ backend: tf.getBackend(), registered: registration.kernels.wasm, loss: history.history.loss }));`);
    const lines = (await run("node", [join(app, "tfjs.mjs")])).trim().split("\n");
    const result = JSON.parse(lines[lines.length - 1]!) as { backend: string; registered: string[]; loss: number[] };
    expect(result.backend).toBe("wasm");
    expect(result.registered).toContain("Conv2DBackpropFilter");
    expect(result.loss).toHaveLength(5);
    expect(result.loss[4]!).toBeLessThan(result.loss[0]!);
  });

  it("loads with require() from CommonJS (Node 20.19+ loads ES modules synchronously)", async () => {
    await writeFile(join(app, "cjs.cjs"), `const { init, tensor, conv2d, conv2dBackward } = require("wasm-conv2d");
(async () => {${CONSUMER_CODE}\nconsole.log(JSON.stringify(result)); })();`);
    const stdout = await run("node", ["--no-warnings", join(app, "cjs.cjs")]);
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  describe("with TypeScript (strict, module nodenext)", () => {
    let blocks: string[];
    beforeAll(async () => {
      blocks = typescriptBlocks(await readFile(join(ROOT, "README.md"), "utf8"));
      for (const [i, block] of blocks.entries()) await writeFile(join(app, `readme-${i + 1}.ts`), block);
    });

    it("compiles every TypeScript block of the README as it is, under the tsconfig that tsc --init writes", async () => {
      expect(blocks.length).toBeGreaterThanOrEqual(2);
      // tsc --init's own choices (TypeScript 5.9: target esnext, strict, exactOptionalPropertyTypes,
      // verbatimModuleSyntax…), written into the fresh project as a user gets them.
      const project = join(app, "init");
      await mkdir(project, { recursive: true });
      execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["--init"], { cwd: project, stdio: "ignore" });
      const config = join(project, "tsconfig.json");
      const text = (await readFile(config, "utf8")).replace(/^\s*\/\/.*$/gm, "");
      const options = JSON.parse(text.replace(/,(\s*[}\]])/g, "$1")) as { compilerOptions: Record<string, unknown> };
      expect(options.compilerOptions.strict).toBe(true);
      expect(options.compilerOptions.module).toBe("nodenext");
      await writeFile(config, JSON.stringify({ ...options, compilerOptions: { ...options.compilerOptions, noEmit: true }, files: blocks.map((_, i) => `../readme-${i + 1}.ts`) }));
      await tsc("-p", config);
    });

    it("compiles them with the oldest library an engine of Node 20's age needs (ES2022 + DOM, no esnext.disposable), our .d.ts checked too", async () => {
      const plain = blocks.map((b, i) => ({ b, i })).filter(({ b }) => !/\busing\b/.test(b));
      expect(plain.length).toBeGreaterThanOrEqual(1);
      await writeFile(join(app, "tsconfig.es2022.json"), JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], types: [], skipLibCheck: false,
        },
        files: plain.map(({ i }) => `readme-${i + 1}.ts`),
      }));
      await tsc("-p", join(app, "tsconfig.es2022.json"));
    });

    it("runs every README block compiled for ES2022 on Node 20 (where TypeScript lowers `using` too)", async () => {
      await writeFile(join(app, "tsconfig.run.json"), JSON.stringify({
        compilerOptions: {
          strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom", "esnext.disposable"], types: [],
          outDir: "out-run", skipLibCheck: true,
        },
        files: blocks.map((_, i) => `readme-${i + 1}.ts`),
      }));
      await tsc("-p", join(app, "tsconfig.run.json"));
      for (const i of blocks.keys()) await run("node", [join(app, "out-run", `readme-${i + 1}.js`)]);
    });

    it("types each gradient from the selection, and the loss's grad from its option", async () => {
      await writeFile(join(app, "narrowing.ts"), `import { init, tensor, conv2dBackward, linearBackward, softmaxCrossEntropy, Conv2d, type Tensor } from "wasm-conv2d";
await init();
const x = tensor(new Float32Array(16), [1, 1, 4, 4]), w = tensor(new Float32Array(4), [1, 1, 2, 2]);
const dy = tensor(new Float32Array(9), [1, 1, 3, 3]);
const all = conv2dBackward(dy, x, w);
export const a: Tensor[] = [all.dx, all.dw, all.db];
const some = conv2dBackward(dy, x, w, {}, { dx: false });
export const b: null = some.dx;
export const c: Tensor = some.dw;
const flag: boolean = Math.random() > 2;
const maybe = conv2dBackward(dy, x, w, {}, { dw: flag });
// @ts-expect-error dw may be null when the selection is a plain boolean
export const d: Tensor = maybe.dw;
const lin = linearBackward(tensor([1], [1, 1]), tensor([1], [1, 1]), tensor([1], [1, 1]), { db: false });
export const e: Tensor = lin.dx;
export const f: null = lin.db;
export const g: Tensor = softmaxCrossEntropy(tensor([1, 2], [1, 2]), [0]).grad;
export const h: null = softmaxCrossEntropy(tensor([1, 2], [1, 2]), [0], { grad: false }).grad;
const layer = new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 2 });
layer.forward(x);
export const i: Tensor = layer.backward(dy);
export const j: Tensor | null = layer.backward(dy, { inputGrad: false });
`);
      await writeFile(join(app, "tsconfig.narrowing.json"), JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], types: [] },
        files: ["narrowing.ts"],
      }));
      await tsc("-p", join(app, "tsconfig.narrowing.json"));
    });
  });

  describe("`using` (explicit resource management) where the engine parses it", () => {
    const script = `import { init, tensor, memoryUsage } from "wasm-conv2d";
await init();
{
  using t = tensor([1, 2, 3], [3]);
  if (memoryUsage().bytesInUse === 0) throw new Error("the tensor was not allocated");
}
console.log(memoryUsage().bytesInUse);`;
    beforeAll(async () => {
      await writeFile(join(app, "using.mjs"), script);
    });

    it("is a SyntaxError in plain JavaScript on Node 20 (the README says so)", async () => {
      const failed = await run("node", [join(app, "using.mjs")]).then(() => "ran", (e: Error) => e.message);
      if (Number(process.versions.node.split(".")[0]) < 24) expect(failed).toMatch(/SyntaxError/);
    });

    for (const name of ["deno", "bun"] as const) {
      it(`disposes the tensor at the end of the block in ${name}`, async () => {
        const args = name === "deno" ? ["run", "--no-lock", "--allow-read", "--allow-env", join(app, "using.mjs")] : [join(app, "using.mjs")];
        expect((await run(binary(name), args, { DENO_NO_UPDATE_CHECK: "1" })).trim()).toBe("0");
      });
    }
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
      // One asset per build init() can pick: fixed and relaxed SIMD, each single-threaded and threaded.
      const assets = await readdir(join(outDir, "assets"));
      for (const build of ["conv2d-simd", "conv2d-relaxed", "conv2d-simd-threads", "conv2d-relaxed-threads"]) {
        expect(assets.filter((f) => new RegExp(`^${build}-[\\w-]+\\.wasm$`).test(f) && !f.slice(build.length + 1).includes("threads")), build).toHaveLength(1);
      }
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
