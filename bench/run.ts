// npm run bench: the layer suite for forward, dx, dw, db and a training step, this library against its peers, one process, one thread.

import v8 from "node:v8";
import os from "node:os";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { LAYERS, layerFlops, outputSize, type BenchLayer } from "./lib/layers.js";
import { Random } from "../js/core/random.js";
import { measure, type Timing } from "./lib/timing.js";
import { measureCeiling, probesText } from "./lib/ceiling.js";
import { renderChart } from "./lib/chart.js";
import { DIRECTIONS, type Direction, type LayerData, type Peer } from "./peers/peer.js";
import { wasmConv2dPeer } from "./peers/wasm-conv2d.js";
import { naiveJsPeer } from "./peers/naive-js.js";
import { tfjsPeer } from "./peers/tfjs.js";
import { onnxRuntimeWebPeer } from "./peers/onnxruntime-web.js";
import { jaxJsPeer } from "./peers/jax-js.js";
import { pytorchPeer } from "./peers/pytorch.js";

// Node 20 runs relaxed SIMD only behind this flag (Chromium, Deno and Bun need none); set before any compile.
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
// Every wasm module here (ours and the peers') is compiled by the optimising tier up front: a benchmark
// reports steady state, and V8's background tier-up from the baseline compiler lands at unpredictable
// times on a busy 2-core machine, which made medians wander by a third.
v8.setFlagsFromString("--no-liftoff");

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    threads: { type: "string" },
    layers: { type: "string" },
    peers: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(`npm run bench [-- --quick] [--layers L1,L2] [--peers tfjs-wasm,naive,jax,torch]
  --quick   the quick subset of layers with shorter sampling (under a minute)
  --layers  only these layers (names from bench/layers.ts)
  --peers   only these peers besides wasm-conv2d (substring match)
  --threads threads of the threads columns, synchronous and async API (default: every core; 1 leaves them out)`);
  process.exit(0);
}

const require = createRequire(import.meta.url);
const ourVersion = (require("../package.json") as { version: string }).version;
const threads = args.threads ? Number(args.threads) : os.availableParallelism();
const peers: Peer[] = [
  wasmConv2dPeer("relaxed", ourVersion),
  wasmConv2dPeer("fixed", ourVersion),
  wasmConv2dPeer("relaxed", ourVersion, 1, "sync", "gemm"),
  wasmConv2dPeer("fixed", ourVersion, 1, "sync", "gemm"),
  ...(threads > 1 ? [wasmConv2dPeer("relaxed", ourVersion, threads), wasmConv2dPeer("relaxed", ourVersion, threads, "async")] : []),
  naiveJsPeer,
  tfjsPeer("wasm"),
  tfjsPeer("cpu"),
  onnxRuntimeWebPeer,
  jaxJsPeer,
  // Where /usr/bin/python3 imports torch; elsewhere its cells say "python3-torch not installed".
  pytorchPeer(() => timingFor()),
].filter((p) => p.name.startsWith("wasm-conv2d") || !args.peers || args.peers.split(",").some((name) => p.name.includes(name)));
const layers = LAYERS.filter((l) => (args.layers ? args.layers.split(",").includes(l.name) : !args.quick || l.quick));
const timingFor = (peer?: Peer) => args.quick
  ? { maxTime: 0.05, minTime: 0.01, minSamples: peer === naiveJsPeer ? 3 : 5, slowMs: 60, slowSamples: 1, onceMs: 1000 }
  : { maxTime: 0.6, minSamples: peer === naiveJsPeer ? 3 : 10, slowMs: 300, slowSamples: 2, onceMs: 1000 };
/** The slow baselines (naive loops, tfjs-cpu) run in --quick only on layers small enough to keep it under a minute. */
const QUICK_SLOW_PEER_FLOPS = 12e6;
const slowPeer = (peer: Peer) => peer === naiveJsPeer || peer.name === "tfjs-cpu";

interface Cell extends Partial<Timing> {
  gflops?: number;
  unsupported?: string;
}
interface LayerResult {
  layer: BenchLayer;
  flops: number;
  cells: Record<string, Partial<Record<Direction, Cell>>>;
  agreement: Record<string, string>;
  memory?: { wasmMemoryBytes: number; scratchBytes: number };
}

const started = Date.now();
const total = layers.length * peers.length * DIRECTIONS.length;
let done = 0;
const progress = (text: string) => {
  const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${String(++done).padStart(3)}/${total}] ${elapsed}s  ${text}\n`);
};

console.log(`wasm-conv2d bench${args.quick ? " --quick" : ""}: ${layers.length} layers × ${peers.length} implementations × ${DIRECTIONS.length} directions`);
console.log(`${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.versions.node} (V8 ${process.versions.v8}), one thread\n`);
// The probes of node tools/build.mjs --bench, each timed as the layers are (benchmark.js, median).
const probe = (file: string) => readFile(new URL(`../build/${file}`, import.meta.url));
const ceiling = await measureCeiling({ fixed: await probe("ceiling-simd.wasm"), relaxed: await probe("ceiling-relaxed.wasm") },
  async (name, fn) => (await measure(name, fn, { maxTime: args.quick ? 0.2 : 1, minSamples: 10, slowMs: Infinity, slowSamples: 0 })).medianMs);
console.log(`wasm SIMD ceiling (best probe; every share below is of it): ${ceiling.fixed.toFixed(1)} GFLOP/s (f32x4 mul + add), ${ceiling.relaxed?.toFixed(1) ?? "n/a"} GFLOP/s (relaxed madd)`);
console.log(`  probes, GFLOP/s (independent chains, operands): mul + add: ${probesText(ceiling, "fixed")}`);
console.log(`  relaxed madd: ${ceiling.relaxed === null ? "n/a" : probesText(ceiling, "relaxed")}\n`);

const results: LayerResult[] = [];
for (const layer of layers) {
  const data = layerData(layer);
  const flops = layerFlops(layer);
  const result: LayerResult = { layer, flops, cells: {}, agreement: {} };
  let reference: Awaited<ReturnType<Awaited<ReturnType<Peer["setup"]>>["results"]>> | undefined;
  for (const peer of peers) {
    const cells: Partial<Record<Direction, Cell>> = {};
    result.cells[peer.name] = cells;
    if (args.quick && slowPeer(peer) && flops > QUICK_SLOW_PEER_FLOPS) {
      for (const d of DIRECTIONS) {
        cells[d] = { unsupported: "left out of --quick on layers over 12 MFLOP (it is measured in the full run)" };
        progress(`${layer.name} ${d.padEnd(7)} ${peer.name}: left out of --quick`);
      }
      continue;
    }
    let prepared;
    try {
      prepared = await peer.setup(layer, data);
    } catch (error) {
      for (const d of DIRECTIONS) {
        cells[d] = { unsupported: `setup failed: ${String((error as Error).message).split("\n")[0]}` };
        progress(`${layer.name} ${d.padEnd(7)} ${peer.name}: setup failed`);
      }
      continue;
    }
    const outputs = await prepared.results();
    if (!reference) reference = outputs;
    else result.agreement[peer.name] = agreement(reference, outputs);
    for (const direction of DIRECTIONS) {
      const fn = prepared.run[direction];
      const work = direction === "db" ? layer.N * layer.F * outputSize(layer) ** 2 : direction === "step" ? 3 * flops : flops;
      const own = prepared.measured?.[direction];
      if (own) {
        cells[direction] = { ...own, rme: NaN, gflops: work / own.medianMs / 1e6 };
        progress(`${layer.name} ${direction.padEnd(7)} ${peer.name}: ${own.medianMs.toFixed(3)} ms (${own.samples} samples, timed by the peer)`);
        continue;
      }
      if (!fn) {
        cells[direction] = { unsupported: prepared.unsupported[direction] ?? "not supported" };
        progress(`${layer.name} ${direction.padEnd(7)} ${peer.name}: not supported`);
        continue;
      }
      const parts = (["forward", "dx", "dw", "db"] as const).map((d) => cells[d]);
      if (direction === "step" && parts.some((c) => c?.samples === 1) && parts.every((c) => c?.medianMs !== undefined)) {
        // Its parts took seconds a call: the step is their sum, not another minute of waiting.
        const medianMs = parts.reduce((sum, c) => sum + c!.medianMs!, 0);
        cells[direction] = { medianMs, samples: 0, rme: NaN, gflops: work / medianMs / 1e6 };
        progress(`${layer.name} ${direction.padEnd(7)} ${peer.name}: ${medianMs.toFixed(3)} ms (sum of the parts)`);
        continue;
      }
      const timing = await measure(`${layer.name} ${direction} ${peer.name}`, fn, timingFor(peer));
      cells[direction] = { ...timing, gflops: work / timing.medianMs / 1e6 };
      progress(`${layer.name} ${direction.padEnd(7)} ${peer.name}: ${timing.medianMs.toFixed(3)} ms (${timing.samples} samples)`);
    }
    if (prepared.memory && peer.name.includes("relaxed")) result.memory = prepared.memory();
    await prepared.dispose();
  }
  results.push(result);
}

printTables(results);
await writeOutputs(results);
for (const p of peers) await p.close?.();

function layerData(layer: BenchLayer): LayerData {
  const random = new Random(layer.name.charCodeAt(1) * 131 + layer.name.length);
  const o = outputSize(layer);
  return {
    x: random.uniformArray(layer.N * layer.C * layer.size * layer.size, -1, 1),
    w: random.uniformArray(layer.F * (layer.C / layer.groups) * layer.K * layer.K, -1, 1),
    b: random.uniformArray(layer.F, -1, 1),
    dy: random.uniformArray(layer.N * layer.F * o * o, -1, 1),
    outHeight: o,
    outWidth: o,
  };
}

/** "ok" when every output the peer computed matches ours to float32 summation-order noise. */
function agreement(ours: Record<string, Float32Array | undefined>, theirs: Record<string, Float32Array | undefined>): string {
  const bad: string[] = [];
  for (const key of ["forward", "dx", "dw"]) {
    const a = ours[key], b = theirs[key];
    if (!a || !b) continue;
    let worst = 0, scale = 1e-6;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    if (a.length !== b.length || !(worst / scale <= 1e-3)) bad.push(`${key} (max diff ${(worst / scale).toExponential(1)} of scale)`);
  }
  return bad.length ? `DISAGREES: ${bad.join(", ")}` : "ok";
}

function printTables(all: LayerResult[]): void {
  const ours = peers[0]!.name, fixed = peers[1]!.name;
  const others = peers.slice(2);
  const pct = (v: number | undefined, c: number | null) => (v === undefined || !c ? "" : `${((100 * v) / c).toFixed(0)}%`);
  for (const direction of DIRECTIONS) {
    console.log(`\n${direction}: GFLOP/s (median${direction === "db" ? "; adds" : direction === "step" ? "; forward + dx + dw + db, 3 convolutions" : ""}), ratio = ${ours} speed ÷ peer speed (threads: speed-up over one thread)`);
    const header = ["layer", "ms", ours, "of ceil", fixed, "of ceil", ...others.map((p) => p.name)];
    const rows = all.map((r) => {
      const a = r.cells[ours]?.[direction], f = r.cells[fixed]?.[direction];
      return [
        r.layer.name,
        a?.medianMs?.toFixed(3) ?? "",
        a?.gflops?.toFixed(1) ?? "n/a",
        direction === "db" ? "" : pct(a?.gflops, ceiling.relaxed),
        f?.gflops?.toFixed(1) ?? "n/a",
        direction === "db" ? "" : pct(f?.gflops, ceiling.fixed),
        ...others.map((p) => {
          const c = r.cells[p.name]?.[direction];
          if (!c?.gflops || !a?.gflops) return "–";
          // For our own threads column the ratio is its speed-up over one thread.
          const ratio = p.name.includes("threads") ? c.gflops / a.gflops : a.gflops / c.gflops;
          return `${c.gflops.toFixed(c.gflops < 1 ? 2 : 1)} (${ratio.toFixed(2)}×)`;
        }),
      ];
    });
    printTable(header, rows);
  }
  console.log("\nwasm-conv2d memory per layer (fresh runtime, after every direction ran): wasm memory / kernel scratch");
  printTable(["layer", "wasm memory", "scratch", "agreement with wasm-conv2d"], all.map((r) => [
    r.layer.name,
    r.memory ? `${(r.memory.wasmMemoryBytes / 2 ** 20).toFixed(2)} MiB` : "",
    r.memory ? `${(r.memory.scratchBytes / 1024).toFixed(1)} KiB` : "",
    Object.entries(r.agreement).map(([k, v]) => `${k}: ${v}`).join("; "),
  ]));
  console.log("\nNot supported:");
  for (const p of others) {
    const notes = new Set<string>();
    for (const r of all) for (const d of DIRECTIONS) {
      const u = r.cells[p.name]?.[d]?.unsupported;
      if (u) notes.add(`${d}: ${u}`);
    }
    if (notes.size) console.log(`  ${p.name}: ${[...notes].join("; ")}`);
  }
  console.log("\nImplementations:");
  for (const p of peers) console.log(`  ${p.name} ${p.version}: ${p.note}`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

async function writeOutputs(all: LayerResult[]): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  // Date and UTC time, so that a second run on a day does not overwrite a recorded one.
  const name = `${new Date().toISOString().slice(0, 16).replace(":", "-")}${args.quick ? "-quick" : ""}`;
  const dir = new URL("./results/", import.meta.url);
  await mkdir(dir, { recursive: true });
  const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.versions.node, v8: process.versions.v8 };
  const json = {
    date: new Date().toISOString(), command: `npm run bench${args.quick ? " -- --quick" : ""}`, machine, ceiling,
    implementations: peers.map((p) => ({ name: p.name, version: p.version, note: p.note })),
    layers: all.map((r) => ({ ...r.layer, flopsPerDirection: r.flops, results: r.cells, agreement: r.agreement, memory: r.memory })),
  };
  await writeFile(new URL(`${name}.json`, dir), JSON.stringify(json, null, 1) + "\n");
  const colors = ["#1f6feb", "#79b8ff", "#b0b0b0", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#9c755f"];
  const svg = renderChart({
    title: `wasm-conv2d vs peers, one thread, ${date}`,
    subtitle: `${machine.cpu}, Node ${machine.node}; dashed: wasm SIMD ceiling, best probe (mul+add ${ceiling.fixed.toFixed(0)}, relaxed ${ceiling.relaxed?.toFixed(0) ?? "n/a"} GFLOP/s)`,
    directions: ["forward", "dx", "dw", "step"],
    layers: all.map((r) => r.layer.name),
    // One thread: the threads columns are in the tables and the JSON, not in this chart.
    series: peers.filter((p) => !p.name.includes("threads")).map((p, i) => ({
      name: p.name, color: colors[i % colors.length]!,
      values: Object.fromEntries(DIRECTIONS.map((d) => [d, Object.fromEntries(all.map((r) => [r.layer.name, r.cells[p.name]?.[d]?.gflops]))])),
    })),
    lines: [{ label: "ceiling, mul+add", value: ceiling.fixed }, ...(ceiling.relaxed ? [{ label: "ceiling, relaxed madd", value: ceiling.relaxed }] : [])],
  });
  await writeFile(new URL(`${name}.svg`, dir), svg);
  console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
