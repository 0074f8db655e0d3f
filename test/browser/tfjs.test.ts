// wasm-conv2d/tfjs in headless Chromium: a crossOriginIsolated page bundles @tensorflow/tfjs and tfjs-backend-wasm (esbuild), loads the plugin from dist/, and checks it against tfjs-cpu's own kernels on "wasm" and "cpu", then model.fit on one thread and two.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { build, type Plugin } from "esbuild";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { serve } from "../../examples/serve.mjs";
import { chromiumAvailable, launchChromium } from "./chromium.js";
import { ROOT, SEED } from "../runtimes/harness.ts";
import type { TfjsGroup, TfjsReport } from "./tfjs-suite.ts";

const available = chromiumAvailable();
const THREADS = 2;

/** The page's one import of the built plugin stays an import, of its URL on the server (its .wasm and worker.js beside it). */
const pluginAsUrl: Plugin = {
  name: "plugin-as-url",
  setup(b) {
    b.onResolve({ filter: /dist\/tfjs\/index\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === join(ROOT, "dist/tfjs/index.js") ? { path: "/dist/tfjs/index.js", external: true } : undefined);
  },
};

type PageReport = TfjsReport & { crossOriginIsolated: boolean };

describe.runIf(available)("wasm-conv2d/tfjs in Chromium", () => {
  let server: { url: string; close: () => Promise<void> };
  let dir: string;
  let report: PageReport;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await serve();
    dir = await mkdtemp(join(ROOT, "test/browser/.tmp-"));
    await build({
      entryPoints: [join(ROOT, "test/browser/tfjs-page.ts")], outfile: join(dir, "tfjs-page.js"),
      bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "error", plugins: [pluginAsUrl],
    });
    // The built package's one bare import, mapped as an app without a bundler for it would.
    await writeFile(join(dir, "tfjs.html"), `<!doctype html><link rel="icon" href="data:,">
    <script type="importmap">{ "imports": { "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js" } }</script>
    <script type="module" src="./tfjs-page.js"></script>`);
    const { context, close } = await launchChromium();
    try {
      const tab = await context.newPage();
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(`${server.url}/${relative(ROOT, dir)}/tfjs.html?seed=${SEED}&cases=30&threads=${THREADS}`);
      type Page = { tfjsReport?: PageReport; tfjsFailure?: string };
      await tab.waitForFunction(() => (window as unknown as Page).tfjsReport ?? (window as unknown as Page).tfjsFailure, null, { timeout: 80_000 });
      const result = await tab.evaluate(() => ({ report: (window as unknown as Page).tfjsReport, failure: (window as unknown as Page).tfjsFailure }));
      if (result.failure || !result.report) throw new Error(`the page failed: ${result.failure}`);
      report = result.report;
    } finally {
      await close();
    }
  }, 110_000);
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The group's checks, each passed; a failure names it, its detail and the seed to replay. */
  function expectGroup(group: TfjsGroup, atLeast: number) {
    const checks = report.checks.filter((c) => c.group === group);
    expect(checks.length, group).toBeGreaterThanOrEqual(atLeast);
    const failures = checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
    expect(failures, `${report.runtime}, seed ${report.seed} (replay: PORTABLE_SEED=${report.seed})`).toEqual([]);
  }

  it("runs cross-origin isolated, in Chromium, both backends, without a page error", () => {
    expect(report.runtime).toMatch(/^Chromium \d+/);
    expect(report.crossOriginIsolated).toBe(true);
    expect(report.backends).toEqual(["wasm", "cpu"]);
    expect(report.simd).toBe("relaxed");
    expect(errors).toEqual([]);
  });

  it("on wasm, tf.grad of conv2d w.r.t. the filter throws without the plugin and equals tfjs-cpu's with it (dilated too); unregister() restores tfjs", () => {
    expectGroup("gradients", 3 + 2 * 8 + 2);
    const names = report.checks.filter((c) => c.group === "gradients").map((c) => c.name);
    expect(names).toContain('tfjs alone: tf.grad(f => tf.conv2d(x, f, 1, "same").sum()) throws on wasm');
    expect(names).toContain('wasm: tf.grad(f => tf.conv2d(x, f, 1, "same").sum()) equals tfjs-cpu\'s');
    expect(names).toContain("wasm: tf.grads of conv2d 3×3 dilation 2 same (x and filter) equal tfjs-cpu's");
    expect(names).toContain("after unregister(): tf.grad of conv2d throws on wasm again");
  });

  it("every plugin kernel, 30 seeded random cases each, on wasm and cpu, within 1e-4 of tfjs-cpu's own kernels", () => {
    expectGroup("kernels", 1 + 2 * (8 + 1) + 1);
    expect(report.cases).toBe(30);
    for (const backend of ["wasm", "cpu"]) {
      for (const kernel of ["Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D", "Conv2DBackpropInput",
        "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"]) {
        expect(report.worst[`${kernel}@${backend}`], `${kernel}@${backend}`).toBeLessThanOrEqual(1e-4);
      }
    }
  });

  it("model.fit of conv2d relu → maxPooling2d → depthwiseConv2d → flatten → dense trains on wasm (and cpu), as tfjs-cpu alone does", () => {
    expectGroup("training", 2 * 2);
    const losses = report.losses["wasm, registerTfjsKernels(tf)"]!;
    expect(losses).toHaveLength(5);
    expect(losses[4]!).toBeLessThan(losses[0]!);
  });

  it(`with { threads: ${THREADS} } gives the losses and weights of { threads: 1 } bit for bit (simd "fixed" in both)`, () => {
    expectGroup("threads", 2 * 5);
    const one = report.losses["wasm, 1 thread, fixed"], many = report.losses[`wasm, ${THREADS} threads, fixed`];
    expect(one).toHaveLength(5);
    expect(many).toEqual(one);
  });
});
