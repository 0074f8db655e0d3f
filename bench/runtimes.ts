// npm run bench:runtimes: the quick layers timed in Node, Deno, Bun, Chromium and workerd, each beside its own SIMD ceiling; one table, an SVG chart, JSON in bench/results/.

import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { serve } from "../examples/serve.mjs";
import { bundle } from "../examples/bundle.mjs";
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from "../test/browser/chromium.ts";
import { barChartSvg } from "./lib/bar-chart.ts";
import { DIRECTIONS, type TimingOptions, type TimingReport } from "./lib/portable-timing.ts";
import { LAYERS } from "./lib/layers.ts";
import { probesText } from "./lib/ceiling.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUNTIMES = ["node", "deno", "bun", "chromium", "workerd"] as const;
type RuntimeId = (typeof RUNTIMES)[number];

function argument(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const chosen = (argument("runtimes")?.split(",") ?? [...RUNTIMES]) as RuntimeId[];
const timing: TimingOptions = {
  samples: Number(argument("samples") ?? 7),
  minSampleMs: Number(argument("min-sample-ms") ?? 25),
  simd: (argument("simd") ?? "fixed") as "fixed" | "auto",
  // --broadcast=load or shuffle times every engine on that micro-kernel form; by default each runs its own.
  broadcast: (argument("broadcast") ?? "engine") as "engine" | "load" | "shuffle",
};

/** Runs a command in the repository root and resolves with the JSON after `prefix` in its output. */
function spawnReport(command: string, args: string[], prefix: string): Promise<TimingReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(prefix));
      if (code === 0 && line) resolve(JSON.parse(line.slice(prefix.length)) as TimingReport);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${err}${out}`));
    });
  });
}

async function inChromium(dir: string, timingBundle: string): Promise<TimingReport> {
  chromiumAvailable();
  const server = await serve();
  const { context, close } = await launchChromium();
  try {
    await writeFile(join(dir, "bench.html"), `<!doctype html><link rel="icon" href="data:,">
    <script type="importmap">{ "imports": { "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js" } }</script>
    <script type="module">
      import * as api from "/dist/index.js";
      import { timeLayers } from "./${relative(dir, timingBundle)}";
      const probe = async (file) => (await fetch("/build/" + file)).arrayBuffer();
      const ceiling = { fixed: await probe("ceiling-simd.wasm"), relaxed: await probe("ceiling-relaxed.wasm") };
      window.report = await timeLayers(api, { ...${JSON.stringify(timing)}, ceiling });
    </script>`);
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(String(e)));
    await tab.goto(`${server.url}/${relative(ROOT, dir)}/bench.html`);
    const handle = await tab.waitForFunction(() => (window as unknown as { report?: unknown }).report, null, { timeout: 300_000, polling: 500 });
    if (errors.length) throw new Error(errors.join("\n"));
    // The user agent string gives only the major version; the binary gives the build.
    const version = /[\d.]+/.exec(execFileSync(CHROMIUM_PATH, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }))?.[0];
    const report = (await handle.jsonValue()) as TimingReport;
    return { ...report, runtime: version ? `Chromium ${version}` : report.runtime };
  } finally {
    await close();
    await server.close();
  }
}

async function inWorkerd(dir: string): Promise<TimingReport> {
  const script = await bundle({ entry: join(ROOT, "bench/lib/runtime-worker.ts"), outfile: join(dir, "worker.js") });
  const worker = new Miniflare({
    modulesRoot: dir,
    modules: [
      { type: "ESModule", path: script, contents: await readFile(script, "utf8") },
      ...["conv2d-simd.wasm", "ceiling-simd.wasm", "ceiling-relaxed.wasm"].map((file) => (
        { type: "CompiledWasm" as const, path: join(dir, "wasm-conv2d/wasm", file), contents: readFileSync(join(ROOT, "build", file)) })),
    ],
    compatibilityDate: "2025-01-01",
  });
  try {
    const response = await worker.dispatchFetch(`http://localhost/?options=${encodeURIComponent(JSON.stringify(timing))}`);
    if (!response.ok) throw new Error(`the worker answered ${response.status}: ${await response.text()}`);
    const report = (await response.json()) as TimingReport;
    const version = async (name: string) => (JSON.parse(await readFile(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
    return { ...report, runtime: `workerd ${await version("workerd")} (miniflare ${await version("miniflare")})` };
  } finally {
    await worker.dispose();
  }
}

const format = (v: number | null) => (v === null || !Number.isFinite(v) ? "—" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(ROOT, "bench/.tmp-runtimes-"));
  const load = { before: loadavg().map((v) => +v.toFixed(2)), after: [] as number[] };
  const reports: TimingReport[] = [];
  try {
    const timingBundle = await bundle({ entry: join(ROOT, "bench/lib/portable-timing.ts"), outfile: join(dir, "portable-timing.mjs") });
    const cli = join(ROOT, "bench/lib/runtime-cli.mjs");
    const json = JSON.stringify(timing);
    const runners: Record<RuntimeId, () => Promise<TimingReport>> = {
      node: () => spawnReport(process.execPath, [cli, timingBundle, json], "TIMING-REPORT "),
      deno: () => spawnReport(join(ROOT, "node_modules/.bin/deno"), ["run", "--no-lock", "--allow-read", cli, timingBundle, json], "TIMING-REPORT "),
      bun: () => spawnReport(join(ROOT, "node_modules/.bin/bun"), [cli, timingBundle, json], "TIMING-REPORT "),
      chromium: () => inChromium(dir, timingBundle),
      workerd: () => inWorkerd(dir),
    };
    // One runtime at a time: on a 2-core machine anything in parallel would time the other runtime too.
    for (const id of chosen) {
      const started = performance.now();
      process.stderr.write(`${id}… `);
      const report = await runners[id]();
      reports.push(report);
      process.stderr.write(`${report.runtime}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  load.after = loadavg().map((v) => +v.toFixed(2));

  const layers = LAYERS.filter((l) => l.quick).map((l) => l.name);
  const names = reports.map((r) => r.runtime.replace(/ \(.*\)$/, ""));
  // Each runtime's layers as a share of its own ceiling, for the build it ran (db counts adds: no share).
  const ceilingOf = (r: TimingReport) => (r.simd === "relaxed" ? r.ceiling?.relaxed : r.ceiling?.fixed) ?? null;
  const share = (r: TimingReport, direction: string, gflops: number) => {
    const c = ceilingOf(r);
    return direction === "db" || !c ? "" : ` (${((100 * gflops) / c).toFixed(0)} %)`;
  };
  const lines = [
    `| layer | direction | ${names.join(" | ")} |`,
    `| --- | --- | ${names.map(() => "---:").join(" | ")} |`,
    `| ceiling | mul + add (best probe) | ${reports.map((r) => format(r.ceiling?.fixed ?? null)).join(" | ")} |`,
    `| ceiling | relaxed madd (best probe) | ${reports.map((r) => format(r.ceiling?.relaxed ?? null)).join(" | ")} |`,
  ];
  for (const layer of layers) {
    for (const direction of DIRECTIONS) {
      const cells = reports.map((r) => {
        const row = r.rows.find((row) => row.layer === layer && row.direction === direction);
        return row ? format(row.gflops) + share(r, direction, row.gflops) : "—";
      });
      lines.push(`| ${layer} | ${direction} | ${cells.join(" | ")} |`);
    }
  }
  const date = new Date().toISOString();
  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`;
  console.log(`GFLOP/s (median of ${timing.samples} samples; ${timing.simd} SIMD build; in brackets: share of that runtime's own ceiling for the build it ran), ${date}`);
  console.log(`machine: ${machine}; load average before ${load.before.join(" ")}, after ${load.after.join(" ")}`);
  console.log(`runtimes: ${reports.map((r) => `${r.runtime} [${r.simd}, ${r.broadcast} broadcast]`).join("; ")}\n`);
  console.log(lines.join("\n"));
  console.log("\nceiling probes (GFLOP/s; chains, operands):");
  for (const r of reports) {
    if (r.ceiling) console.log(`  ${r.runtime}: fixed ${probesText(r.ceiling, "fixed")}; relaxed ${r.ceiling.relaxed === null ? "n/a" : probesText(r.ceiling, "relaxed")}`);
  }

  const svg = barChartSvg({
    title: `wasm-conv2d quick layers across runtimes (${timing.simd} SIMD build)`,
    unit: "GFLOP/s",
    series: reports.map((r) => `${r.runtime.replace(/ \(.*\)$/, "")}${ceilingOf(r) ? ` (ceiling ${format(ceilingOf(r))})` : ""}`),
    panels: DIRECTIONS.map((direction) => ({
      title: direction,
      groups: layers,
      values: reports.map((r) => layers.map((layer) => r.rows.find((row) => row.layer === layer && row.direction === direction)?.gflops ?? NaN)),
    })),
  });
  await mkdir(join(ROOT, "bench/results"), { recursive: true });
  const stamp = date.slice(0, 19).replace(/[:T]/g, "-");
  await writeFile(join(ROOT, "bench/runtimes.svg"), svg);
  await writeFile(join(ROOT, `bench/results/runtimes-${stamp}.json`), JSON.stringify({
    date, machine, load, command: `npm run bench:runtimes -- ${process.argv.slice(2).join(" ")}`.trim(), timing, reports,
  }, null, 2) + "\n");
  console.log(`\nwrote bench/runtimes.svg and bench/results/runtimes-${stamp}.json`);
}

await main();
