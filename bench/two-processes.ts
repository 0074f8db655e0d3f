// npm run bench:two-processes: how much two cores of this machine give at all (two processes at once against one alone), beside the pool's speed-up.

// The thread pool's target (≥ 1.8× on 2 threads) presumes the two cores deliver about twice one core's
// work. On a shared VM they may not: the cores can be SMT siblings on the host, or share a memory
// bandwidth and an L3 that one core alone has to itself. Two independent single-thread processes running
// the same layers measure what two cores give here, with no pool, no dispatch and no shared memory: the
// ceiling any 2-thread speed-up can reach on this machine. Each round also times a 2-thread runtime in
// a third process, its synchronous API (the calling thread and one worker) and its async API (two
// workers); rounds alternate (alone, pair, threads) so that drift in the host's load falls on all.

import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import type { Tensor } from "../dist/index.js";
import { LAYERS, inputShape, layerOptions, outputSize, weightShape } from "./layers.ts";
import { median, timeLayers } from "./portable-timing.ts";

const LAYER_NAMES = ["L2", "L3", "L4", "L5", "L6"];
const DIRECTIONS = ["forward", "dx", "dw"] as const;
/** Rounds (`-- --rounds N`): the host's load swings within seconds, so more rounds give steadier medians. */
const roundsArg = process.argv.indexOf("--rounds");
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7;
const SAMPLES = 7;
const MIN_SAMPLE_MS = 25;

/** What a child prints: its median ms per layer and direction. */
type Report = { simd: string; rows: { layer: string; direction: string; ms: number }[] };

function child(mode: "--child" | "--pool"): Promise<Report> {
  return new Promise((resolve, reject) => {
    // execArgv carries tsx's loader, so the child runs this same TypeScript file.
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), mode], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => { out += chunk; });
    proc.on("error", reject);
    proc.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as Report) : reject(new Error(`child exited with ${code}`))));
  });
}

const msOf = (report: Report, layer: string, direction: string): number =>
  report.rows.find((r) => r.layer === layer && r.direction === direction)!.ms;

async function main(): Promise<void> {
  const started = new Date();
  // ratios[layer/direction] = per round, (work two processes finish per ms) ÷ (work one finishes alone).
  // pair[layer/direction] = per round, (work two processes finish per ms) ÷ (work one finishes alone);
  // sync[...], pool[...] = one process alone ÷ the synchronous / async API on 2 threads, same round.
  const pair = new Map<string, number[]>();
  const sync = new Map<string, number[]>();
  const pool = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, key: string, value: number) => map.set(key, [...(map.get(key) ?? []), value]);
  let simd = "";
  for (let round = 1; round <= ROUNDS; round++) {
    const alone = await child("--child");
    const both = await Promise.all([child("--child"), child("--child")]);
    const threaded = await child("--pool");
    simd = alone.simd;
    for (const layer of LAYER_NAMES) {
      for (const direction of DIRECTIONS) {
        const key = `${layer}/${direction}`;
        const ms = msOf(alone, layer, direction);
        push(pair, key, both.reduce((sum, report) => sum + ms / msOf(report, layer, direction), 0));
        push(sync, key, ms / msOf(threaded, layer, `${direction}, sync`));
        push(pool, key, ms / msOf(threaded, layer, direction));
      }
    }
    console.error(`round ${round}/${ROUNDS} done`);
  }
  const cell = (map: Map<string, number[]>, key: string) => {
    const values = map.get(key)!;
    return `${median(values).toFixed(2)}× (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
  };
  const lines = [
    `Speed-up over one thread alone, ${simd} build, median (min–max) of ${ROUNDS} rounds, ${started.toISOString().slice(0, 16)} UTC,`,
    "`npm run bench:two-processes`. \"two processes\": two single-thread processes at once, their summed",
    "throughput (2.00× = two full cores); \"sync\": the synchronous API on 2 threads (the calling thread and",
    "a worker); \"async\": the async API on 2 workers.",
    "",
    "| layer | direction | two processes | sync, 2 threads | async, 2 threads |",
    "| --- | --- | ---: | ---: | ---: |",
    ...LAYER_NAMES.flatMap((layer) => DIRECTIONS.map((d) => `| ${layer} | ${d} | ${[pair, sync, pool].map((m) => cell(m, `${layer}/${d}`)).join(" | ")} |`)),
  ];
  console.log(lines.join("\n"));
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}two-processes-${started.toISOString().slice(0, 16).replace(":", "-")}.json`;
  await writeFile(file, JSON.stringify({ started: started.toISOString(), simd, rounds: ROUNDS, twoProcesses: Object.fromEntries(pair), sync: Object.fromEntries(sync), pool: Object.fromEntries(pool) }, null, 2) + "\n");
  console.error(`wrote ${file}`);
}

const layers = LAYERS.filter((l) => LAYER_NAMES.includes(l.name));

/** The threads' child: the synchronous and the async API on 2 threads, timed as portable-timing's measure times the sync one. */
async function timePool(api: typeof import("../dist/index.js")): Promise<Report> {
  const runtime = await api.init({ simd: "auto", threads: 2 });
  const rows: Report["rows"] = [];
  for (const layer of layers) {
    const opts = layerOptions(layer);
    const fill = (shape: number[]) => api.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random() * 2 - 1), shape, runtime);
    const o = outputSize(layer);
    const [x, w, b, dy] = [fill(inputShape(layer)), fill(weightShape(layer)), fill([layer.F]), fill([layer.N, layer.F, o, o])];
    const free = (...ts: (Tensor | null)[]) => ts.forEach((t) => t?.dispose());
    const calls: Record<string, () => unknown> = {
      forward: async () => free(await api.conv2dAsync(x, w, b, opts)),
      dx: async () => free((await api.conv2dBackwardAsync(dy, x, w, opts, { dw: false, db: false })).dx),
      dw: async () => free((await api.conv2dBackwardAsync(dy, x, w, opts, { dx: false, db: false })).dw),
      "forward, sync": () => free(api.conv2d(x, w, b, opts)),
      "dx, sync": () => free(api.conv2dBackward(dy, x, w, opts, { dw: false, db: false }).dx),
      "dw, sync": () => free(api.conv2dBackward(dy, x, w, opts, { dx: false, db: false }).dw),
    };
    for (const direction of DIRECTIONS.flatMap((d) => [d, `${d}, sync`])) {
      const fn = calls[direction]!;
      const batch = async (reps: number) => {
        const t = performance.now();
        for (let r = 0; r < reps; r++) await fn();
        return performance.now() - t;
      };
      await fn();
      await fn();
      let reps = 1;
      for (let elapsed = await batch(reps); elapsed < MIN_SAMPLE_MS; elapsed = await batch(reps)) reps *= 2;
      const times: number[] = [];
      for (let s = 0; s < SAMPLES; s++) times.push((await batch(reps)) / reps);
      rows.push({ layer: layer.name, direction, ms: median(times) });
    }
    free(x, w, b, dy);
  }
  runtime.terminate();
  return { simd: runtime.simd, rows };
}

if (process.argv.includes("--child") || process.argv.includes("--pool")) {
  // Node 20 runs relaxed SIMD only behind this flag; set before any compile, as bench/run.ts does.
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  const api = await import("../dist/index.js");
  const report: Report = process.argv.includes("--pool")
    ? await timePool(api)
    : await timeLayers(api, { layers, simd: "auto", samples: SAMPLES, minSampleMs: MIN_SAMPLE_MS });
  process.stdout.write(JSON.stringify({ simd: report.simd, rows: report.rows }));
} else {
  await main();
}
