// npm run bench:ab -- --base <dir>: this checkout against another build of the package, in one process, calls interleaved, so a refactor can show it changed no speed.

// Two builds timed in separate runs differ by the host's mood (±30 % on this VM within minutes);
// here both are loaded into one process and timed in alternating blocks of about 20 ms, and the
// 25th percentile of each side's blocks is compared: what the code costs, with the host's swings
// falling on both sides alike. The other build is any checkout with `npm run build` done (a git
// worktree of an earlier commit, say): `--base ../old/dist/index.js` or the checkout's folder.

import v8 from "node:v8";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { LAYERS, inputShape, layerOptions, weightShape } from "./lib/layers.ts";
import { Random } from "../js/core/random.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
v8.setFlagsFromString("--no-liftoff");

const { values: args } = parseArgs({
  options: {
    base: { type: "string" }, layers: { type: "string" }, rounds: { type: "string", default: "15" },
    simd: { type: "string", default: "relaxed,fixed" }, threads: { type: "string", default: "1" }, help: { type: "boolean" },
  },
});
if (args.help || !args.base) {
  console.log(`npm run bench:ab -- --base <checkout or its dist/index.js> [--layers L1,L2] [--rounds 15] [--simd relaxed,fixed] [--threads 1,2]
  Times forward, dx, dw and db of each layer on both builds in alternating blocks, in one process,
  and prints ms per call (25th percentile of the blocks) and new ÷ base.`);
  process.exit(args.help ? 0 : 2);
}
const baseEntry = args.base.endsWith(".js") ? resolve(args.base) : join(resolve(args.base), "dist/index.js");
if (!existsSync(baseEntry)) throw new Error(`${baseEntry} does not exist: build that checkout first (npm run build)`);

type Api = typeof import("../dist/index.js");
const base = (await import(pathToFileURL(baseEntry).href)) as Api;
const here = (await import("../dist/index.js")) as Api;
// The base may predate createRuntime(): init() made a new runtime per call then.
const runtimeOf = (api: Api, options: Parameters<Api["init"]>[0]) => (api.createRuntime ? api.createRuntime(options) : api.init(options));

const data = (n: number, seed: number) => new Random(seed).uniformArray(n, -1, 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const DIRECTIONS = ["forward", "dx", "dw", "db"] as const;

function calls(api: Api, runtime: Awaited<ReturnType<Api["init"]>>, layer: (typeof LAYERS)[number]) {
  const options = layerOptions(layer);
  const x = api.tensor(data(size(inputShape(layer)), 1), inputShape(layer), runtime);
  const w = api.tensor(data(size(weightShape(layer)), 2), weightShape(layer), runtime);
  const b = api.tensor(data(layer.F, 3), [layer.F], runtime);
  const y = api.conv2d(x, w, b, options);
  const dy = api.tensor(data(y.size, 4), y.shape, runtime);
  y.dispose();
  return {
    forward: () => api.conv2d(x, w, b, options).dispose(),
    dx: () => api.conv2dBackward(dy, x, w, options, { dw: false, db: false }).dx!.dispose(),
    dw: () => api.conv2dBackward(dy, x, w, options, { dx: false, db: false }).dw!.dispose(),
    db: () => api.conv2dBackward(dy, x, w, options, { dx: false, dw: false }).db!.dispose(),
  };
}

const rounds = Number(args.rounds);
const p25 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 4)]!;
const layers = LAYERS.filter((l) => !args.layers || args.layers.split(",").includes(l.name));
const report: { simd: string; threads: number; rows: { layer: string; direction: string; baseMs: number; newMs: number }[] }[] = [];
for (const threads of args.threads.split(",").map(Number)) {
  for (const simd of args.simd.split(",") as ("relaxed" | "fixed")[]) {
    const options = { simd, threads };
    const [rb, rn] = [await runtimeOf(base, options), await runtimeOf(here, options)];
    console.log(`\n${simd} build, ${threads} thread${threads > 1 ? "s" : ""}: ms per call (p25 of ${rounds} interleaved blocks)`);
    console.log("layer  direction      base       new   new ÷ base");
    const rows = [];
    for (const layer of layers) {
      const [cb, cn] = [calls(base, rb, layer), calls(here, rn, layer)];
      for (const direction of DIRECTIONS) {
        // Warm both, and size a block to about 20 ms.
        let reps = 0;
        const warm = performance.now();
        while (performance.now() - warm < 40) {
          cb[direction]();
          cn[direction]();
          reps++;
        }
        const times: [number[], number[]] = [[], []];
        for (let round = 0; round < rounds; round++) {
          // Alternate which goes first, so that neither always follows the other.
          for (const side of round % 2 ? [0, 1] : [1, 0]) {
            const run = side === 0 ? cb[direction] : cn[direction];
            const start = performance.now();
            for (let i = 0; i < reps; i++) run();
            times[side]!.push((performance.now() - start) / reps);
          }
        }
        const [baseMs, newMs] = [p25(times[0]), p25(times[1])];
        rows.push({ layer: layer.name, direction, baseMs, newMs });
        console.log(`${layer.name.padEnd(6)} ${direction.padEnd(9)} ${baseMs.toFixed(4).padStart(9)} ${newMs.toFixed(4).padStart(9)}   ${(newMs / baseMs).toFixed(3)}`);
      }
    }
    const ratios = rows.map((r) => r.newMs / r.baseMs).sort((a, b) => a - b);
    const geometric = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
    console.log(`new ÷ base: geometric mean ${geometric.toFixed(3)}, median ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}, range ${ratios[0]!.toFixed(3)}–${ratios.at(-1)!.toFixed(3)}`);
    report.push({ simd, threads, rows });
    rb.terminate();
    rn.terminate();
  }
}
const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = `bench/results/ab-${stamp}.json`;
await writeFile(new URL(`../${file}`, import.meta.url), JSON.stringify({
  date: new Date().toISOString(), command: `npm run bench:ab -- ${process.argv.slice(2).join(" ")}`, base: baseEntry,
  machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, Node ${process.versions.node}`, rounds, report,
}, null, 1));
console.log(`\nwrote ${file}`);
