// npm run bench:probe: the minimal cross-runtime reproduction (the 4×8 micro-kernel beside the ceiling) in Node, Deno, Bun, Chromium and workerd, with the engine flags that isolate the cause.

// Each runtime runs bench/lib/probe-timing.mjs on build/runtime-probe.wasm in one instance, so each
// kernel ÷ ceiling ratio is taken in one process, side by side. The diagnostic rows change one engine
// setting: V8's explicit bounds checks forced on (Node) or switched off (Deno; unsafe, for measuring
// only) and the baseline tier switched off (Deno). bench/RESULTS.md, "Why runtimes differ", reads them.

import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { serve } from "../examples/serve.mjs";
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from "../test/browser/chromium.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WASM = join(ROOT, "build/runtime-probe.wasm");
const CLI = join(ROOT, "bench/lib/probe-cli.mjs");
const bin = (name: string) => join(ROOT, "node_modules/.bin", name);

interface ProbeReport { gflops: Record<string, number>; sameBits: boolean; samples: number; minSampleMs: number }
interface Row { runtime: string; setting: string; report: ProbeReport }

function argument(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
const only = argument("runtimes")?.split(",");
const samples = Number(argument("samples") ?? 300);

function spawnProbe(command: string, args: string[], env: Record<string, string> = {}): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env } });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("PROBE-REPORT "));
      if (code === 0 && line) resolve(JSON.parse(line.slice("PROBE-REPORT ".length)) as ProbeReport);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${err}${out}`));
    });
  });
}

const versionOf = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8" }).trim().split("\n");
const packageVersion = async (name: string) => (JSON.parse(await readFile(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

async function inWorkerd(options: object): Promise<ProbeReport> {
  const worker = new Miniflare({
    modulesRoot: join(ROOT, "bench/lib"),
    modules: [
      { type: "ESModule", path: join(ROOT, "bench/lib/probe-worker.mjs"), contents: await readFile(join(ROOT, "bench/lib/probe-worker.mjs"), "utf8") },
      { type: "ESModule", path: join(ROOT, "bench/lib/probe-timing.mjs"), contents: await readFile(join(ROOT, "bench/lib/probe-timing.mjs"), "utf8") },
      { type: "CompiledWasm", path: join(ROOT, "bench/lib/runtime-probe.wasm"), contents: await readFile(WASM) },
    ],
    compatibilityDate: "2025-01-01",
  });
  try {
    const response = await worker.dispatchFetch(`http://localhost/?options=${encodeURIComponent(JSON.stringify(options))}`);
    if (!response.ok) throw new Error(`the worker answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as ProbeReport;
  } finally {
    await worker.dispose();
  }
}

async function inChromium(options: object): Promise<ProbeReport> {
  chromiumAvailable();
  const dir = await mkdtemp(join(ROOT, "bench/.tmp-runtimes-probe-"));
  const server = await serve();
  const { context, close } = await launchChromium();
  try {
    await writeFile(join(dir, "probe.html"), `<!doctype html><link rel="icon" href="data:,">
    <script type="module">
      import { probe } from "/bench/lib/probe-timing.mjs";
      const module = await WebAssembly.compileStreaming(fetch("/build/runtime-probe.wasm"));
      window.report = await probe(module, ${JSON.stringify(options)});
    </script>`);
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(String(e)));
    await tab.goto(`${server.url}/${relative(ROOT, dir)}/probe.html`);
    const handle = await tab.waitForFunction(() => (window as unknown as { report?: unknown }).report, null, { timeout: 300_000, polling: 200 });
    if (errors.length) throw new Error(errors.join("\n"));
    return (await handle.jsonValue()) as ProbeReport;
  } finally {
    await close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const options = { samples };
const deno = bin("deno");
const denoVersion = versionOf(deno, ["--version"]);
const runs: { id: string; runtime: () => string | Promise<string>; setting: string; run: () => Promise<ProbeReport> }[] = [
  { id: "node", runtime: () => `Node ${process.versions.node} (V8 ${process.versions.v8})`, setting: "default", run: () => spawnProbe(process.execPath, [CLI, WASM, JSON.stringify(options)]) },
  { id: "node", runtime: () => `Node ${process.versions.node}`, setting: "--wasm-enforce-bounds-checks", run: () => spawnProbe(process.execPath, ["--wasm-enforce-bounds-checks", CLI, WASM, JSON.stringify(options)]) },
  { id: "deno", runtime: () => `Deno ${denoVersion[0]!.split(" ")[1]} (V8 ${denoVersion[1]!.split(" ")[1]})`, setting: "default", run: () => spawnProbe(deno, ["run", "--no-lock", "--allow-read", CLI, WASM, JSON.stringify(options)]) },
  { id: "deno", runtime: () => "Deno", setting: "--v8-flags=--no-liftoff", run: () => spawnProbe(deno, ["run", "--no-lock", "--allow-read", "--v8-flags=--no-liftoff", CLI, WASM, JSON.stringify(options)]) },
  { id: "deno", runtime: () => "Deno", setting: "--v8-flags=--no-wasm-bounds-checks (unsafe)", run: () => spawnProbe(deno, ["run", "--no-lock", "--allow-read", "--v8-flags=--no-wasm-bounds-checks", CLI, WASM, JSON.stringify(options)]) },
  { id: "bun", runtime: () => `Bun ${versionOf(bin("bun"), ["--version"])[0]} (JavaScriptCore)`, setting: "default", run: () => spawnProbe(bin("bun"), [CLI, WASM, JSON.stringify(options)]) },
  { id: "chromium", runtime: () => `Chromium ${/[\d.]+/.exec(versionOf(CHROMIUM_PATH, ["--version"])[0]!)?.[0]}`, setting: "default", run: () => inChromium(options) },
  // workerd's clock ticks in whole milliseconds: longer calls, fewer of them.
  { id: "workerd", runtime: async () => `workerd ${await packageVersion("workerd")}`, setting: "default", run: () => inWorkerd({ samples: Math.max(10, Math.round(samples / 5)), minSampleMs: 20 }) },
];

const rows: Row[] = [];
const load = loadavg().map((v) => v.toFixed(2));
for (const r of runs.filter((r) => !only || only.includes(r.id))) {
  process.stderr.write(`${r.id} ${r.setting}… `);
  rows.push({ runtime: await r.runtime(), setting: r.setting, report: await r.run() });
  process.stderr.write("done\n");
}

const f = (v: number) => v.toFixed(1);
console.log(`GFLOP/s, best of ${samples} interleaved samples per kernel (workerd: fewer, longer); ${new Date().toISOString()}`);
console.log(`machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores; load average before ${load.join(" ")}, after ${loadavg().map((v) => v.toFixed(2)).join(" ")}\n`);
console.log("| runtime | setting | ceiling | micro-kernel, load broadcast | ÷ ceiling | micro-kernel, shuffle broadcast | ÷ ceiling | shuffle ÷ load | same bits |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
for (const { runtime, setting, report } of rows) {
  const g = report.gflops;
  const ceiling = g["ceiling"]!, load = g["micro-kernel (load broadcast)"]!, shuffle = g["micro-kernel (shuffle broadcast)"]!;
  console.log(`| ${runtime} | ${setting} | ${f(ceiling)} | ${f(load)} | ${(load / ceiling).toFixed(2)} | ${f(shuffle)} | ${(shuffle / ceiling).toFixed(2)} | ${(shuffle / load).toFixed(2)} | ${report.sameBits ? "yes" : "NO"} |`);
}
