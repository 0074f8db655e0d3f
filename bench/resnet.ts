// npm run bench:resnet: npm run train:resnet's convolutions (forward, dx, dw) and its whole training step on one thread, beside PyTorch's (native) in alternating rounds.

import os from "node:os";
import v8 from "node:v8";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { Random } from "../js/core/random.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const { values: args } = parseArgs({ options: {
  rounds: { type: "string", default: "2" }, reps: { type: "string", default: "15" }, steps: { type: "string", default: "30" },
  python: { type: "string", default: "/usr/bin/python3" },
} });
const rounds = Number(args.rounds), reps = Number(args.reps), steps = Number(args.steps);

type Api = typeof import("../dist/index.js");
const api = (await import("../dist/index.js")) as Api;
const { resNet } = await import("../examples/mnist/resnet.mjs");

/** The ResNet's convolutions at batch 32: x [32, C, H, H], w [F, C, K, K]; count = how many of it a step has. */
const LAYERS = [
  { name: "stem 1→16, 28²", C: 1, F: 16, H: 28, K: 3, stride: 1, pad: 1, count: 1 },
  { name: "16→16, 28²", C: 16, F: 16, H: 28, K: 3, stride: 1, pad: 1, count: 2 },
  { name: "16→32 /2, 28²", C: 16, F: 32, H: 28, K: 3, stride: 2, pad: 1, count: 1 },
  { name: "32→32, 14²", C: 32, F: 32, H: 14, K: 3, stride: 1, pad: 1, count: 1 },
  { name: "1×1 16→32 /2, 28²", C: 16, F: 32, H: 28, K: 1, stride: 2, pad: 0, count: 1 },
  { name: "32→64 /2, 14²", C: 32, F: 64, H: 14, K: 3, stride: 2, pad: 1, count: 1 },
  { name: "64→64, 7²", C: 64, F: 64, H: 7, K: 3, stride: 1, pad: 1, count: 1 },
  { name: "1×1 32→64 /2, 14²", C: 32, F: 64, H: 14, K: 1, stride: 2, pad: 0, count: 1 },
];
const N = 32;
const outSize = (l: (typeof LAYERS)[number]) => Math.floor((l.H + 2 * l.pad - l.K) / l.stride) + 1;
const flops = (l: (typeof LAYERS)[number]) => 2 * N * l.F * l.C * l.K * l.K * outSize(l) ** 2;

function medianMs(fn: () => unknown, count: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

type Times = { layers: Record<string, { forward: number; dx: number; dw: number }>; stepMs: number };

async function ours(simd: "fixed" | "relaxed"): Promise<Times> {
  // The default runtime: the example's network is built in it.
  const runtime = await api.init({ simd, threads: 1 });
  const layers: Times["layers"] = {};
  for (const l of LAYERS) {
    const random = new Random(l.C * 100 + l.F);
    api.scope(() => {
      const x = api.tensor(random.uniformArray(N * l.C * l.H * l.H, -0.5, 0.5), [N, l.C, l.H, l.H], runtime);
      const w = api.tensor(random.uniformArray(l.F * l.C * l.K * l.K, -0.5, 0.5), [l.F, l.C, l.K, l.K], runtime);
      const o = { stride: l.stride, pad: l.pad };
      const dy = api.tensor(random.uniformArray(N * l.F * outSize(l) ** 2, -0.5, 0.5), [N, l.F, outSize(l), outSize(l)], runtime);
      layers[l.name] = {
        forward: medianMs(() => api.conv2d(x, w, null, o).dispose(), reps),
        dx: medianMs(() => api.conv2dBackward(dy, x, w, o, { dw: false, db: false }).dx.dispose(), reps),
        dw: medianMs(() => api.conv2dBackward(dy, x, w, o, { dx: false, db: false }).dw.dispose(), reps),
      };
    });
  }
  // The whole step of train:resnet: forward, softmax cross-entropy, backward (no dx for the input), Adam.
  const model = resNet(1);
  const optimizer = new api.Adam(model.parameters(), { lr: 2e-3 });
  const random = new Random(7);
  const images = random.uniformArray(N * 784, 0, 1), labels = Array.from({ length: N }, (_, i) => i % 10);
  const stepMs = medianMs(() => api.scope(() => {
    const { grad } = api.softmaxCrossEntropy(model.forward(api.tensor(images, [N, 1, 28, 28], runtime)), labels);
    optimizer.zeroGrad();
    model.backward(grad, { inputGrad: false });
    optimizer.step();
  }), steps);
  optimizer.dispose();
  model.dispose();
  return { layers, stepMs };
}

function torch(): (Times & { torch: string }) | string {
  if (!existsSync(args.python!)) return `no ${args.python}`;
  try {
    const out = execFileSync(args.python!, [new URL("./peers/torch_resnet.py", import.meta.url).pathname,
      "--layers", JSON.stringify(LAYERS), "--reps", String(reps), "--steps", String(steps)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out.trim().split("\n").at(-1)!);
  } catch (error) {
    return `PyTorch did not run: ${String((error as Error).message).split("\n")[0]}`;
  }
}

const runs: { round: number; who: string; times: Times | string }[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const who of ["wasm-conv2d fixed", "wasm-conv2d relaxed", "pytorch"]) {
    const times = who === "pytorch" ? torch() : await ours(who.endsWith("fixed") ? "fixed" : "relaxed");
    runs.push({ round, who, times });
    process.stderr.write(`round ${round} ${who}: ${typeof times === "string" ? times : `${times.stepMs.toFixed(1)} ms per step`}\n`);
  }
}

// The fastest round of each (the host's load only ever slows a round down).
const best = (who: string) => {
  const mine = runs.filter((r) => r.who === who && typeof r.times !== "string").map((r) => r.times as Times);
  if (mine.length === 0) return null;
  return {
    stepMs: Math.min(...mine.map((t) => t.stepMs)),
    layers: Object.fromEntries(LAYERS.map((l) => [l.name, Object.fromEntries((["forward", "dx", "dw"] as const).map((d) => [d, Math.min(...mine.map((t) => t.layers[l.name]![d]))]))])),
  } as Times;
};
const who = ["wasm-conv2d fixed", "wasm-conv2d relaxed", "pytorch"];
const table = Object.fromEntries(who.map((w) => [w, best(w)]));
console.log(`\nThe ResNet's convolutions at batch 32, one thread: ms (GFLOP/s), the fastest of ${rounds} alternating rounds of ${reps} calls each`);
console.log(["layer (× per step)", ...who.flatMap((w) => ["forward", "dx", "dw"].map((d) => `${w} ${d}`))].join(" | "));
for (const l of LAYERS) {
  console.log([`${l.name} (×${l.count})`, ...who.flatMap((w) => (["forward", "dx", "dw"] as const).map((d) => {
    const t = table[w]?.layers[l.name]?.[d];
    return t === undefined ? "–" : `${t.toFixed(2)} (${(flops(l) / t / 1e6).toFixed(1)})`;
  }))].join(" | "));
}
const convMs = (w: string) => table[w] ? LAYERS.reduce((s, l, i) => s + l.count * (table[w]!.layers[l.name]!.forward + (i === 0 ? 0 : table[w]!.layers[l.name]!.dx) + table[w]!.layers[l.name]!.dw), 0) : NaN;
console.log("\nper training step (forward, loss, backward, Adam), batch 32:");
for (const w of who) {
  const t = table[w];
  if (!t) { console.log(`${w}: ${runs.find((r) => r.who === w)?.times}`); continue; }
  const ratio = table["pytorch"] ? ` = ${(t.stepMs / table["pytorch"].stepMs).toFixed(2)}× PyTorch's` : "";
  console.log(`${w}: ${t.stepMs.toFixed(1)} ms per step, ${(t.stepMs * 250 / 1000).toFixed(2)} s per 250-step epoch${ratio}; its convolutions alone ${convMs(w).toFixed(1)} ms`);
}
const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = `bench/results/resnet-${stamp}.json`;
await writeFile(new URL(`../${file}`, import.meta.url), JSON.stringify({
  date: new Date().toISOString(), command: "npm run bench:resnet", machine: `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, Node ${process.versions.node}`,
  load: os.loadavg(), layers: LAYERS, runs,
}, null, 1));
console.log(`\nwrote ${file}`);
