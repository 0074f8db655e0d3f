// npm run bench:tfjs: wasm-conv2d/tfjs measured in one process: npm start's LeNet trained with model.fit on tfjs-wasm and tfjs-cpu with the plugin, on tfjs-cpu alone and with this library's own API; then the plugin's kernels against tfjs-wasm's and tfjs-cpu's own on the layer suite.

import v8 from "node:v8";
import os from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig, NamedAttrMap, NamedTensorMap } from "@tensorflow/tfjs";
import { init } from "wasm-conv2d";
import { registerTfjsKernels, type TfjsNamespace, type TfjsRegistration } from "wasm-conv2d/tfjs";
import { CLASSES, IMAGE_SIZE, PIXELS, epochBatches, splitDigits } from "../examples/mnist/data.mjs";
import { loadDigitsNode } from "../examples/mnist/load-node.mjs";
import { DEFAULTS, train } from "../examples/mnist/lenet.mjs";
import { LAYERS, layerFlops, outputSize, type BenchLayer } from "./lib/layers.ts";
import { Random } from "../js/core/random.ts";
import "./peers/tfjs.ts"; // imports tfjs-backend-wasm and sets its wasm paths

// As bench/run.ts: relaxed SIMD behind its flag on Node 20, and every wasm module (ours and tfjs-wasm's)
// compiled by the optimising tier up front, for steady-state figures. Set before any module compiles.
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
v8.setFlagsFromString("--no-liftoff");

const HELP = `Usage: npm run bench:tfjs -- [options]

Measures wasm-conv2d/tfjs (registerTfjsKernels) in one process, one thread unless --threads says otherwise.

  lenet    npm start's LeNet (conv 5×5 (8) → ReLU → max-pool → conv 5×5 (16) → ReLU → max-pool → dense 10),
           written with tf.layers, one epoch of model.fit on npm start's digits, batch and Adam, on:
           tfjs-wasm + plugin (forward "auto": XNNPACK's forward), tfjs-wasm + plugin (forward "replace"),
           tfjs-cpu + plugin, tfjs-cpu alone (a subset of the steps, scaled), and this library's own API
           (examples/mnist/lenet.mjs train). Rounds interleave the configurations; medians of rounds. Every
           kernelFunc of the backend is wrapped to split each step: conv kernels (and, inside the plugin's,
           the convolution, the layout transposes and the copies), other tfjs kernels, and the rest of tfjs.
  kernels  per layer of bench/lib/layers.ts (NHWC): forward (Conv2D / DepthwiseConv2dNative; the plugin's
           via forward "replace"), Conv2DBackpropInput and Conv2DBackpropFilter (depthwise layers: the
           depthwise kernels), the plugin on wasm and on cpu against tfjs-wasm's own (XNNPACK forward; its
           scalar BackpropInput; no BackpropFilter) and tfjs-cpu's own, invoked through tf ops / runKernel,
           each result read back with dataSync() and disposed; engines interleaved sample by sample.

Options:
  --quick            tiny sizes, for a smoke run (well under a minute)
  --only lenet|kernels
  --threads N        threads for wasm-conv2d (plugin and own API; default 1; tfjs-wasm runs one thread in Node)
  --simd fixed|relaxed|auto   wasm-conv2d's build, plugin and own API alike (default fixed, as npm start)
  --train N          training digits for the epoch, ≤ 8000 (default ${DEFAULTS.trainSize}; --quick 320)
  --rounds N         LeNet rounds (default 3; --quick 1)
  --cpu-steps N      steps tfjs-cpu alone is timed on per round (default 10; --quick 1)
  --layers L1,L7     only these layers (default all; --quick L1,L7,D1,X1)
  --help             this text`;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    threads: { type: "string" },
    simd: { type: "string" },
    train: { type: "string" },
    rounds: { type: "string" },
    "cpu-steps": { type: "string" },
    layers: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const quick = args.quick;
const positive = (value: string | undefined, fallback: number, name: string, max = Infinity): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) usage(`--${name}: expected a whole number in [1, ${max}], received ${value}`);
  return n;
};
function usage(message: string): never {
  console.error(`${message}\n\n${HELP}`);
  process.exit(2);
}
if (args.only !== undefined && args.only !== "lenet" && args.only !== "kernels") usage(`--only: expected lenet or kernels, received ${args.only}`);
const simd = (args.simd ?? "fixed") as "fixed" | "relaxed" | "auto";
if (!["fixed", "relaxed", "auto"].includes(simd)) usage(`--simd: expected fixed, relaxed or auto, received ${args.simd}`);
const threads = positive(args.threads, 1, "threads", 256);
const settings = {
  quick,
  threads,
  simd,
  trainSize: positive(args.train, quick ? 320 : DEFAULTS.trainSize, "train", 8000),
  rounds: positive(args.rounds, quick ? 1 : 3, "rounds"),
  cpuSteps: positive(args["cpu-steps"], quick ? 1 : 10, "cpu-steps"),
  batchSize: DEFAULTS.batchSize as number,
  lr: DEFAULTS.lr as number,
  seed: DEFAULTS.seed as number,
  maxShift: DEFAULTS.maxShift as number,
  // Kernel sampling: interleaved samples per engine and cell, each at least sampleMs of calls; an engine
  // gets fewer samples where they would pass budgetMs, and a warm-up call slower than onceMs is its one sample.
  kernelSamples: quick ? 3 : 7,
  sampleMs: quick ? 5 : 25,
  budgetMs: quick ? 400 : 6000,
  onceMs: quick ? 1500 : 3000,
};
const layers = LAYERS.filter((l) => (args.layers ? args.layers.split(",").includes(l.name) : !quick || ["L1", "L7", "D1", "X1"].includes(l.name)));
if (args.layers && layers.length === 0) usage(`--layers: none of ${args.layers} is in bench/lib/layers.ts (${LAYERS.map((l) => l.name).join(", ")})`);

const ns: TfjsNamespace = tf;
const require = createRequire(import.meta.url);
const ourVersion = (require("../package.json") as { version: string }).version;
const started = performance.now();
const loadBefore = os.loadavg();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s`;
const progress = (line: string) => process.stderr.write(`[${elapsed()}] ${line}\n`);
const fmt = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits));
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const loadText = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");

const FORWARD_KERNELS = ["Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D"];
const BACKPROP_KERNELS = ["Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"];

// Both backends are started up front: registering and swapping kernels later never meets a backend's first init.
for (const backend of ["cpu", "wasm"]) {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs could not start its "${backend}" backend`);
  await tf.ready();
}

console.log(`# wasm-conv2d/tfjs benchmark${quick ? " (--quick: smoke-run sizes, not figures to record)" : ""}\n`);
console.log(`- ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
  `Node ${process.versions.node} (V8 ${process.versions.v8}), load average ${loadText(loadBefore)} before`);
console.log(`- TensorFlow.js ${tf.version.tfjs} (wasm backend: XNNPACK, SIMD, one thread in Node); wasm-conv2d ${ourVersion}, ` +
  `${simd} SIMD build, ${threads} thread${threads > 1 ? "s" : ""} (plugin and own API)`);
console.log(`- ${new Date().toISOString()}, \`npm run bench:tfjs${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\`\n`);

// ————————————————————————————————————————————————————————————————————————————————————————— profiling

/** Milliseconds spent in one kernel (outermost calls only), and, inside the plugin's, in its runtime's functions. */
interface Bucket { calls: number; ms: number; conv: number; transpose: number; activation: number }
const newBucket = (): Bucket => ({ calls: 0, ms: 0, conv: 0, transpose: 0, activation: 0 });

/**
 * Wraps kernelFuncs (via the registry: unregister, register the wrapped config) and a plugin runtime's
 * exports, to attribute time without touching the plugin: conv2dPlan/Prepare/Run (and the pool's
 * runHere with threads) are the convolution, transposeBatched the layout changes, the activation
 * exports the fused activation; the rest of a plugin kernel's time is its copies in and out of tfjs's
 * memory and the output tensor. Each wrapper costs about a microsecond per call.
 */
class Profiler {
  readonly kernels = new Map<string, Bucket>();
  /** Where runtime time goes now: the kernel being run (or, in the kernel bench, the engine's cell). */
  sink: Bucket | undefined;
  private depth = 0;
  private inRuntime = false;
  private readonly restore: (() => void)[] = [];

  bucket(name: string): Bucket {
    let b = this.kernels.get(name);
    if (!b) this.kernels.set(name, (b = newBucket()));
    return b;
  }

  /** Wraps every kernel registered for backend now (the plugin's among them, when registered). */
  wrapBackend(backend: string): void {
    for (const config of tf.getKernelsForBackend(backend)) {
      const inner = config.kernelFunc;
      const bucket = this.bucket(config.kernelName);
      const wrapped: KernelConfig = {
        ...config,
        kernelFunc: ((params: Parameters<typeof inner>[0]) => {
          if (this.depth > 0) return inner(params);
          this.depth++;
          const outer = this.sink;
          this.sink = bucket;
          const t0 = performance.now();
          try {
            return inner(params);
          } finally {
            bucket.ms += performance.now() - t0;
            bucket.calls++;
            this.sink = outer;
            this.depth--;
          }
        }) as typeof inner,
      };
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel(wrapped);
      this.restore.push(() => {
        tf.unregisterKernel(config.kernelName, backend);
        tf.registerKernel(config);
      });
    }
  }

  /** config with its kernelFunc's time (and calls) added to the sink of the moment, where one is set. */
  timed(config: KernelConfig): KernelConfig {
    const inner = config.kernelFunc;
    return {
      ...config,
      kernelFunc: ((params: Parameters<typeof inner>[0]) => {
        const sink = this.sink;
        if (!sink) return inner(params);
        const t0 = performance.now();
        try {
          return inner(params);
        } finally {
          sink.ms += performance.now() - t0;
          sink.calls++;
        }
      }) as typeof inner,
    };
  }

  /** Wraps a plugin runtime's exports (the runtime is the registration's own; it ends with it). */
  wrapRuntime(registration: TfjsRegistration): void {
    const runtime = registration.runtime as unknown as { kernels: Record<string, unknown>; pool?: Record<string, unknown> };
    const groups: [Record<string, unknown> | undefined, string[], "conv" | "transpose" | "activation"][] = [
      [runtime.kernels, ["conv2dPlan", "conv2dPrepare", "conv2dRun"], "conv"],
      [runtime.pool, ["runHere"], "conv"],
      [runtime.kernels, ["transposeBatched"], "transpose"],
      [runtime.kernels, ["reluForward", "sigmoidForward", "leakyReluForward"], "activation"],
    ];
    for (const [target, names, field] of groups) {
      if (!target) continue;
      for (const name of names) {
        const fn = target[name];
        if (typeof fn !== "function") continue;
        target[name] = (...a: unknown[]) => {
          const sink = this.sink;
          if (!sink || this.inRuntime) return fn.apply(target, a);
          this.inRuntime = true;
          const t0 = performance.now();
          try {
            return fn.apply(target, a);
          } finally {
            sink[field] += performance.now() - t0;
            this.inRuntime = false;
          }
        };
      }
    }
  }

  /** Puts back the configs wrapBackend replaced (call before the registration's unregister()). */
  unwrap(): void {
    for (const undo of this.restore.reverse()) undo();
    this.restore.length = 0;
  }
}

// ————————————————————————————————————————————————————————————————————————————————————————— LeNet

interface LenetRun {
  seconds: number;
  steps: number;
  loss: number;
  testAccuracy?: number;
  /** ms per step */
  breakdown: Record<string, number>;
  kernels?: Record<string, { calls: number; ms: number; conv: number; transpose: number; activation: number }>;
}
interface LenetConfig {
  name: string;
  short: string;
  backend?: "wasm" | "cpu";
  plugin?: { forward: "auto" | "replace" };
  /** Steps per round: a subset for tfjs-cpu alone. */
  subset: boolean;
  runs: LenetRun[];
}

const BREAKDOWN_ROWS = [
  ["convForward", "conv forward kernels (Conv2D family)"],
  ["convBackprop", "conv backprop kernels (BackpropInput, BackpropFilter)"],
  ["pluginConv", "… of these, the plugin's: wasm-conv2d convolution"],
  ["pluginTranspose", "… the plugin's layout transposes (NHWC ↔ NCHW, HWIO ↔ OIHW)"],
  ["pluginActivation", "… the plugin's fused activation"],
  ["pluginCopies", "… the plugin's copies in and out, output tensors (rest of its kernels)"],
  ["otherKernels", "other kernels / layers (pooling, ReLU, dense, loss, Adam, bias sums …)"],
  ["outside", "outside kernels (tfjs engine, tape, layers, fit)"],
  ["total", "total per step"],
] as const;

async function lenetBench() {
  const data = splitDigits(loadDigitsNode());
  const stepsPerEpoch = Math.ceil(settings.trainSize / settings.batchSize);
  const cpuSteps = Math.min(settings.cpuSteps, stepsPerEpoch);
  console.log(`## LeNet, one epoch of model.fit (npm start's network, digits, batch ${settings.batchSize}, Adam lr ${settings.lr}, shift ±${settings.maxShift}, seed ${settings.seed})\n`);
  console.log(`${settings.trainSize} training digits = ${stepsPerEpoch} steps per epoch; ${settings.rounds} round${settings.rounds > 1 ? "s" : ""}, ` +
    `the configurations interleaved (order rotated each round), medians of rounds. tfjs-cpu alone is timed on the first ${plural(cpuSteps, "step")} ` +
    `of the epoch in each round and its seconds per epoch are scaled to ${stepsPerEpoch} steps. Seconds are the training ` +
    `steps alone (model.fit; test-set evaluation not timed).\n`);

  await init({ simd, threads });
  const configs: LenetConfig[] = [
    { name: "tfjs-wasm + plugin (forward \"auto\": XNNPACK's)", short: "wasm+plugin", backend: "wasm", plugin: { forward: "auto" }, subset: false, runs: [] },
    { name: "wasm-conv2d's own API (examples/mnist/lenet.mjs train)", short: "own API", subset: false, runs: [] },
    { name: "tfjs-wasm + plugin (forward \"replace\")", short: "wasm+plugin (replace)", backend: "wasm", plugin: { forward: "replace" }, subset: false, runs: [] },
    { name: "tfjs-cpu + plugin", short: "cpu+plugin", backend: "cpu", plugin: { forward: "auto" }, subset: false, runs: [] },
    { name: `tfjs-cpu alone (${cpuSteps} of ${stepsPerEpoch} steps, scaled)`, short: "cpu alone", backend: "cpu", subset: true, runs: [] },
  ];

  // Warm-up, untimed: a few steps of each fast configuration (JIT, kernels' first calls).
  const warmDigits = Math.min(3 * settings.batchSize, settings.trainSize);
  for (const config of configs) {
    if (config.subset) continue;
    progress(`LeNet warm-up: ${config.short}`);
    await runConfig(config, data, warmDigits, false);
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < configs.length; i++) {
      const config = configs[(i + round) % configs.length]!;
      const digits = config.subset ? Math.min(cpuSteps * settings.batchSize, settings.trainSize) : settings.trainSize;
      progress(`LeNet round ${round + 1}/${settings.rounds}: ${config.short}, ${plural(Math.ceil(digits / settings.batchSize), "step")} …`);
      const run = await runConfig(config, data, digits, round === 0 && !config.subset);
      config.runs.push(run);
      progress(`  ${config.short}: ${run.seconds.toFixed(2)} s, ${(1000 * run.seconds / run.steps).toFixed(1)} ms/step, loss ${run.loss.toFixed(4)}` +
        (run.testAccuracy !== undefined ? `, test ${(100 * run.testAccuracy).toFixed(2)} %` : ""));
    }
  }

  // Tables.
  const perStep = (c: LenetConfig) => median(c.runs.map((r) => r.seconds / r.steps));
  const summary = configs.map((c) => ({
    name: c.name,
    short: c.short,
    steps: c.runs[0]?.steps ?? 0,
    secondsPerStep: perStep(c),
    secondsPerEpoch: perStep(c) * stepsPerEpoch,
    measuredSeconds: median(c.runs.map((r) => r.seconds)),
    testAccuracy: c.runs.find((r) => r.testAccuracy !== undefined)?.testAccuracy,
    loss: median(c.runs.map((r) => r.loss)),
  }));
  console.log(`| configuration | steps timed per round | s measured (median) | ms per step | s per ${stepsPerEpoch}-step epoch | mean loss over the timed steps | test accuracy after the epoch |`);
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const s of summary) {
    console.log(`| ${s.name} | ${s.steps} | ${fmt(s.measuredSeconds)} | ${fmt(1000 * s.secondsPerStep, 1)} | ${fmt(s.secondsPerEpoch)}${s.steps < stepsPerEpoch ? " (scaled)" : ""} | ` +
      `${fmt(s.loss, 4)} | ${s.testAccuracy === undefined ? "—" : `${(100 * s.testAccuracy).toFixed(2)} %`} |`);
  }
  const [wasmPlugin, own, wasmReplace, cpuPlugin, cpuAlone] = summary as [typeof summary[0], typeof summary[0], typeof summary[0], typeof summary[0], typeof summary[0]];
  const ratios = {
    wasmPluginOverCpuAlone: cpuAlone.secondsPerStep / wasmPlugin.secondsPerStep,
    wasmPluginOverOwnApi: wasmPlugin.secondsPerStep / own.secondsPerStep,
    wasmReplaceOverOwnApi: wasmReplace.secondsPerStep / own.secondsPerStep,
    cpuPluginOverCpuAlone: cpuAlone.secondsPerStep / cpuPlugin.secondsPerStep,
  };
  console.log(`\nSame-run ratios (per step):`);
  console.log(`- tfjs-wasm + plugin is **${fmt(ratios.wasmPluginOverCpuAlone, 0)}×** as fast as tfjs-cpu alone (target ≥ 100×: ${ratios.wasmPluginOverCpuAlone >= 100 ? "met" : "NOT met"}; tfjs-cpu alone timed on ${plural(cpuAlone.steps, "step")} per round, scaled)`);
  console.log(`- tfjs-wasm + plugin takes **${fmt(ratios.wasmPluginOverOwnApi)}×** the own API's time (target ≤ 1.5×: ${ratios.wasmPluginOverOwnApi <= 1.5 ? "met" : "NOT met"}); with forward "replace" ${fmt(ratios.wasmReplaceOverOwnApi)}×`);
  console.log(`- tfjs-cpu + plugin is ${fmt(ratios.cpuPluginOverCpuAlone, 0)}× as fast as tfjs-cpu alone`);

  console.log(`\nWhere a step's time goes (ms per step, each configuration's median round, so that the rows add up; every kernelFunc of the backend wrapped, outermost calls; own API: its timed conv layers, backward = dx + dw + db):\n`);
  console.log(`| | ${configs.map((c) => c.short).join(" | ")} |`);
  console.log(`| --- | ${configs.map(() => "---:").join(" | ")} |`);
  const breakdown: Record<string, Record<string, number>> = {};
  for (const c of configs) {
    const byTotal = [...c.runs].sort((a, b) => a.seconds / a.steps - b.seconds / b.steps);
    const middle = byTotal[(byTotal.length - 1) >> 1]!;
    breakdown[c.short] = Object.fromEntries(BREAKDOWN_ROWS.map(([key]) => [key, middle.breakdown[key] ?? NaN]));
  }
  for (const [key, label] of BREAKDOWN_ROWS) {
    console.log(`| ${label} | ${configs.map((c) => fmt(breakdown[c.short]![key], 2)).join(" | ")} |`);
  }
  const w = breakdown["wasm+plugin"]!, o = breakdown["own API"]!;
  const conv = (b: Record<string, number>) => b.convForward! + b.convBackprop!;
  const signed = (v: number) => `${v >= 0 ? "+" : "−"}${fmt(Math.abs(v))}`;
  console.log(`\ntfjs-wasm + plugin against the own API, ms per step: ${signed(w.total! - o.total!)} in all = conv kernels ${signed(conv(w) - conv(o))} ` +
    `(inside them the plugin's transposes ${fmt(w.pluginTranspose)} and copies ${fmt(w.pluginCopies)}; XNNPACK runs the forward) ` +
    `+ other kernels ${signed(w.otherKernels! - o.otherKernels!)} + tfjs outside its kernels ${signed(w.outside!)}.`);

  // The heaviest kernels of each tfjs configuration (round 1).
  console.log(`\nHeaviest kernels per step (round 1; ms per step, calls per step):\n`);
  for (const c of configs) {
    const kernels = c.runs[0]?.kernels;
    if (!kernels) continue;
    const steps = c.runs[0]!.steps;
    const top = Object.entries(kernels).filter(([, b]) => b.calls > 0).sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
    console.log(`- ${c.short}: ${top.map(([name, b]) => `${name} ${fmt(b.ms / steps)} (${fmt(b.calls / steps, 0)}×)`).join(", ")}`);
  }
  console.log("");
  return { stepsPerEpoch, cpuSteps, configs, summary, ratios, breakdown };
}

/** Builds npm start's LeNet in tf.layers, on the current backend, its initial weights seeded (examples/train-tfjs.mjs's). */
function tfjsLeNet(seed: number): tf.Sequential {
  const initializer = (k: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 8 + k }) });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], filters: 8, kernelSize: 5, padding: "same", activation: "relu", ...initializer(1) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: "same", activation: "relu", ...initializer(2) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: CLASSES, ...initializer(3) }),
    ],
  });
}

type Digits = ReturnType<typeof splitDigits>;

/** The first `count` digits of epoch 1 in npm start's order with its shifts (epochBatches), as tensors on the current backend. */
function epochTensors(data: Digits, count: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  let at = 0;
  for (const batch of epochBatches(data.train, { trainSize: settings.trainSize, batchSize: settings.batchSize, seed: settings.seed, epoch: 1, maxShift: settings.maxShift })) {
    const take = Math.min(batch.count, count - at);
    images.set(batch.images.subarray(0, take * PIXELS), at * PIXELS);
    labels.set(batch.labels.subarray(0, take), at);
    at += take;
    if (at === count) break;
  }
  return tf.tidy(() => ({
    xs: tf.tensor4d(images, [count, IMAGE_SIZE, IMAGE_SIZE, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, "int32"), CLASSES).toFloat() as tf.Tensor2D,
  }));
}

function tfjsAccuracy(model: tf.Sequential, set: Digits["test"], batchSize = 500): number {
  let correct = 0;
  for (let first = 0; first < set.count; first += batchSize) {
    const count = Math.min(batchSize, set.count - first);
    correct += tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(first * PIXELS, (first + count) * PIXELS), [count, IMAGE_SIZE, IMAGE_SIZE, 1]);
      const predicted = (model.predict(x) as tf.Tensor).argMax(1);
      return predicted.equal(tf.tensor1d(set.labels.subarray(first, first + count), "int32")).sum().dataSync()[0]!;
    });
  }
  return correct / set.count;
}

/** One epoch (or its first `digits`) of one configuration; evaluates the test set afterwards (untimed) when asked. */
async function runConfig(config: LenetConfig, data: Digits, digits: number, evaluate: boolean): Promise<LenetRun> {
  const steps = Math.ceil(digits / settings.batchSize);
  if (!config.backend) {
    // This library's own training loop: the same batches (epochBatches, epoch 1), Adam, lr; conv layers timed by the example's TimedLayer.
    const { model, history } = train(data, { epochs: 1, trainSize: digits, batchSize: settings.batchSize, lr: settings.lr, seed: settings.seed, maxShift: settings.maxShift });
    const record = history[0]!;
    model.dispose();
    const ms = (s: number) => (1000 * s) / steps;
    const convForward = ms(record.convForwardSeconds), convBackprop = ms(record.convBackwardSeconds), total = ms(record.seconds);
    const run: LenetRun = {
      seconds: record.seconds, steps, loss: record.loss, testAccuracy: evaluate ? record.testAccuracy : undefined,
      breakdown: { convForward, convBackprop, otherKernels: total - convForward - convBackprop, total },
    };
    return run;
  }
  let registration: TfjsRegistration | undefined;
  const profiler = new Profiler();
  await tf.setBackend(config.backend);
  if (config.plugin) {
    registration = await registerTfjsKernels(ns, { backends: [config.backend], threads, simd, forward: config.plugin.forward });
    profiler.wrapRuntime(registration);
  }
  profiler.wrapBackend(config.backend);
  const model = tfjsLeNet(settings.seed);
  const optimizer = tf.train.adam(settings.lr, 0.9, 0.999, 1e-8);
  model.compile({ optimizer, loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits) });
  const { xs, ys } = epochTensors(data, digits);
  for (const b of profiler.kernels.values()) Object.assign(b, newBucket());
  const t0 = performance.now();
  // The epoch's order and shifts are npm start's: fit keeps them (shuffle: false).
  const fitted = await model.fit(xs, ys, { batchSize: settings.batchSize, epochs: 1, shuffle: false, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const kernels = Object.fromEntries([...profiler.kernels].map(([name, b]) => [name, { ...b }]));
  profiler.unwrap();
  const testAccuracy = evaluate ? tfjsAccuracy(model, data.test) : undefined;
  tf.dispose([xs, ys]);
  model.dispose();
  optimizer.dispose();
  registration?.unregister();

  const ms = (v: number) => v / steps;
  let convForward = 0, convBackprop = 0, otherKernels = 0, conv = 0, transpose = 0, activation = 0, pluginTotal = 0;
  const pluginKernels = new Set<string>(config.plugin ? [...FORWARD_KERNELS, ...BACKPROP_KERNELS] : []);
  for (const [name, b] of Object.entries(kernels)) {
    if (FORWARD_KERNELS.includes(name)) convForward += b.ms;
    else if (BACKPROP_KERNELS.includes(name)) convBackprop += b.ms;
    else otherKernels += b.ms;
    // A plugin kernel that passed the call to the backend's own (forward "auto" on wasm) ran no convolution of ours.
    if (pluginKernels.has(name) && b.conv > 0) {
      conv += b.conv;
      transpose += b.transpose;
      activation += b.activation;
      pluginTotal += b.ms;
    }
  }
  const total = 1000 * seconds;
  return {
    seconds, steps, loss: (fitted.history.loss as number[])[0]!, testAccuracy, kernels,
    breakdown: {
      convForward: ms(convForward), convBackprop: ms(convBackprop),
      ...(config.plugin ? {
        pluginConv: ms(conv), pluginTranspose: ms(transpose), pluginActivation: ms(activation), pluginCopies: ms(pluginTotal - conv - transpose - activation),
      } : {}),
      otherKernels: ms(otherKernels), outside: ms(total - convForward - convBackprop - otherKernels), total: ms(total),
    },
  };
}

// ————————————————————————————————————————————————————————————————————————————————————————— kernels

const ENGINES = [
  { name: "plugin (wasm)", backend: "wasm", plugin: true },
  { name: "tfjs-wasm", backend: "wasm", plugin: false },
  { name: "plugin (cpu)", backend: "cpu", plugin: true },
  { name: "tfjs-cpu", backend: "cpu", plugin: false },
] as const;
type EngineName = (typeof ENGINES)[number]["name"];
const KERNEL_DIRECTIONS = ["forward", "dx", "dw"] as const;
type KernelDirection = (typeof KERNEL_DIRECTIONS)[number];

interface KernelCell {
  medianMs?: number;
  samples?: number;
  callsPerSample?: number;
  /** The warm-up call was the one sample (it took over onceMs). */
  once?: boolean;
  /**
   * The plugin's, ms per call (medians over the samples of each one's mean per call): in its kernelFunc, and of that in wasm-conv2d's
   * convolution, its transposes, its fused activation; the rest of kernelMs is its copies and output tensor.
   */
  kernelMs?: number;
  convMs?: number;
  transposeMs?: number;
  activationMs?: number;
  unsupported?: string;
  agreement?: string;
}

function kernelNameOf(direction: KernelDirection, depthwise: boolean): string {
  if (direction === "forward") return depthwise ? "DepthwiseConv2dNative" : "Conv2D";
  if (direction === "dx") return depthwise ? "DepthwiseConv2dNativeBackpropInput" : "Conv2DBackpropInput";
  return depthwise ? "DepthwiseConv2dNativeBackpropFilter" : "Conv2DBackpropFilter";
}

/** [N, C, H, W] → [N, H, W, C]. */
function nchwToNhwc(v: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = v[(n * C + c) * H * W + p]!;
  return out;
}

/** [F, C, K, K] → [K, K, C, F] (HWIO); depthwise [C, 1, K, K] → [K, K, C, 1]. */
function fchwToHwcf(v: Float32Array, F: number, C: number, K: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let f = 0; f < F; f++) for (let c = 0; c < C; c++) for (let t = 0; t < K * K; t++) out[(t * C + c) * F + f] = v[(f * C + c) * K * K + t]!;
  return out;
}

/** The kernel configs to swap in per engine: tfjs's own (captured before registering) and the plugin's. */
interface Registry { own: Map<string, KernelConfig | undefined>; plugin: Map<string, KernelConfig | undefined> }
const key = (backend: string, kernel: string) => `${backend}/${kernel}`;

function install(backend: string, kernel: string, config: KernelConfig | undefined): void {
  if (tf.getKernel(kernel, backend)) tf.unregisterKernel(kernel, backend);
  if (config) tf.registerKernel(config);
}

async function kernelBench() {
  console.log(`## Per kernel, the layer suite (bench/lib/layers.ts, NHWC)\n`);
  console.log(`Each call goes through tf ops (tf.conv2d, tf.depthwiseConv2d) or tf.engine().runKernel (the backprops, as tfjs's ` +
    `gradients call them), its result read back with dataSync() and disposed: times include every copy and transpose of the ` +
    `plugin and tfjs's tensor bookkeeping. The engines are swapped in tfjs's kernel registry between samples and interleaved ` +
    `(order rotated); medians of ${settings.kernelSamples} samples of ≥ ${settings.sampleMs} ms of calls (fewer where a call takes ` +
    `seconds; a warm-up call over ${settings.onceMs / 1000} s is the one sample). tfjs-wasm's forward is XNNPACK, which keeps its ` +
    `packed filter between calls on the same filter tensor; the plugin packs per call. Ratio: that engine's time ÷ the plugin's on ` +
    `the same backend (> 1: the plugin is faster).\n`);

  // tfjs's own kernels first, then the plugin's (forward "replace": its forward for every call).
  const registry: Registry = { own: new Map(), plugin: new Map() };
  const names = [...FORWARD_KERNELS, ...BACKPROP_KERNELS];
  for (const b of ["wasm", "cpu"]) for (const k of names) registry.own.set(key(b, k), tf.getKernel(k, b));
  const registration = await registerTfjsKernels(ns, { backends: ["wasm", "cpu"], threads, simd, forward: "replace" });
  const profiler = new Profiler();
  for (const b of ["wasm", "cpu"]) {
    for (const k of names) {
      const config = tf.getKernel(k, b);
      registry.plugin.set(key(b, k), config && profiler.timed(config));
    }
  }
  profiler.wrapRuntime(registration);

  const results: { layer: BenchLayer; flops: number; cells: Record<KernelDirection, Partial<Record<EngineName, KernelCell>>> }[] = [];
  for (const layer of layers) {
    const depthwise = layer.groups > 1 && layer.groups === layer.C && layer.groups === layer.F;
    if (layer.groups > 1 && !depthwise) throw new Error(`${layer.name}: grouped (not depthwise) layers have no tfjs kernel`);
    const o = outputSize(layer);
    const random = new Random(layer.name.charCodeAt(1) * 131 + layer.name.length); // bench/run.ts's data
    const nchw = {
      x: random.uniformArray(layer.N * layer.C * layer.size * layer.size, -1, 1),
      w: random.uniformArray(layer.F * (layer.C / layer.groups) * layer.K * layer.K, -1, 1),
      b: random.uniformArray(layer.F, -1, 1),
      dy: random.uniformArray(layer.N * layer.F * o * o, -1, 1),
    };
    const host = {
      x: nchwToNhwc(nchw.x, layer.N, layer.C, layer.size, layer.size),
      dy: nchwToNhwc(nchw.dy, layer.N, layer.F, o, o),
      w: depthwise ? fchwToHwcf(nchw.w, 1, layer.C, layer.K) : fchwToHwcf(nchw.w, layer.F, layer.C, layer.K),
    };
    const xShape: [number, number, number, number] = [layer.N, layer.size, layer.size, layer.C];
    const wShape: [number, number, number, number] = depthwise ? [layer.K, layer.K, layer.C, 1] : [layer.K, layer.K, layer.C, layer.F];
    const dyShape: [number, number, number, number] = [layer.N, o, o, layer.F];
    // Each backend's own tensors, made once: nothing moves between backends inside a timed call.
    const tensors: Record<string, { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D }> = {};
    for (const b of ["wasm", "cpu"]) {
      await tf.setBackend(b);
      tensors[b] = { x: tf.tensor4d(host.x, xShape), w: tf.tensor4d(host.w, wShape), dy: tf.tensor4d(host.dy, dyShape) };
    }
    const pad = layer.pad;
    const explicit: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
    const common = { strides: layer.stride, pad: depthwise ? pad : explicit, dataFormat: "NHWC", dilations: layer.dilation, dimRoundingMode: undefined };
    const ops: Record<KernelDirection, (t: { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D }) => tf.Tensor> = {
      forward: (t) => depthwise
        ? tf.depthwiseConv2d(t.x, t.w, layer.stride, pad, "NHWC", layer.dilation)
        : tf.conv2d(t.x, t.w, layer.stride, explicit, "NHWC", layer.dilation),
      dx: (t) => tf.engine().runKernel(kernelNameOf("dx", depthwise), { dy: t.dy, filter: t.w } as unknown as NamedTensorMap,
        { ...common, inputShape: xShape } as unknown as NamedAttrMap) as tf.Tensor,
      dw: (t) => tf.engine().runKernel(kernelNameOf("dw", depthwise), { x: t.x, dy: t.dy } as unknown as NamedTensorMap,
        { ...common, filterShape: wShape } as unknown as NamedAttrMap) as tf.Tensor,
    };
    const cells = {} as Record<KernelDirection, Partial<Record<EngineName, KernelCell>>>;
    for (const direction of KERNEL_DIRECTIONS) {
      const kernel = kernelNameOf(direction, depthwise);
      const row: Partial<Record<EngineName, KernelCell>> = {};
      cells[direction] = row;
      const buckets: Partial<Record<EngineName, Bucket>> = {};
      const use = async (engine: (typeof ENGINES)[number]) => {
        install(engine.backend, kernel, (engine.plugin ? registry.plugin : registry.own).get(key(engine.backend, kernel)));
        if (tf.getBackend() !== engine.backend) await tf.setBackend(engine.backend);
        profiler.sink = engine.plugin ? (buckets[engine.name] ??= newBucket()) : undefined;
      };
      const call = (engine: (typeof ENGINES)[number]) => {
        const t = ops[direction](tensors[engine.backend]!);
        const values = t.dataSync() as Float32Array;
        t.dispose();
        return values;
      };
      // Warm-up (its result checked against the plugin's on wasm), then how many calls make a sample.
      const plan: { engine: (typeof ENGINES)[number]; n: number; samples: number; times: number[]; splits: Bucket[] }[] = [];
      let reference: Float32Array | undefined;
      for (const engine of ENGINES) {
        const own = !engine.plugin;
        if (own && !registry.own.get(key(engine.backend, kernel))) {
          row[engine.name] = { unsupported: `${engine.name} has no ${kernel} kernel` };
          continue;
        }
        if (own && direction !== "forward" && layer.dilation !== 1) {
          row[engine.name] = { unsupported: `${engine.name}'s ${kernel} takes no dilations (tfjs's gradients refuse dilation > 1: ${layer.name})` };
          continue;
        }
        try {
          await use(engine);
          const w0 = performance.now();
          const values = call(engine);
          const warmMs = performance.now() - w0;
          reference ??= values;
          const cell: KernelCell = { agreement: agreement(reference, values) };
          row[engine.name] = cell;
          if (warmMs > settings.onceMs) {
            Object.assign(cell, { medianMs: warmMs, samples: 1, callsPerSample: 1, once: true });
            progress(`${layer.name} ${direction} ${engine.name}: ${warmMs.toFixed(1)} ms (one call, the warm-up)`);
            continue;
          }
          // Up to three calibration calls, the fastest counted: a JavaScript kernel's first calls may still run
          // unoptimised. One is enough for a call of over 200 ms (its loops are optimised on the stack by then).
          let callMs = Infinity;
          for (let k = 0; k < 3 && (k === 0 || (callMs * settings.kernelSamples <= settings.budgetMs / 2 && callMs <= 200)); k++) {
            const c0 = performance.now();
            call(engine);
            callMs = Math.min(callMs, Math.max(performance.now() - c0, 1e-3));
          }
          const n = Math.max(1, Math.min(10_000, Math.ceil(settings.sampleMs / callMs)));
          const samples = Math.max(1, Math.min(settings.kernelSamples, Math.floor(settings.budgetMs / (n * callMs))));
          plan.push({ engine, n, samples, times: [], splits: [] });
        } catch (error) {
          row[engine.name] = { unsupported: `threw: ${String((error as Error).message ?? error).split("\n")[0]!.slice(0, 120)}` };
        }
      }
      // Interleaved samples, the engines' order rotated each round.
      const rounds = Math.max(0, ...plan.map((p) => p.samples));
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < plan.length; i++) {
          const p = plan[(i + r) % plan.length]!;
          if (p.times.length >= p.samples) continue;
          await use(p.engine);
          const bucket = buckets[p.engine.name];
          const before = bucket && { ...bucket };
          const t0 = performance.now();
          for (let k = 0; k < p.n; k++) call(p.engine);
          p.times.push((performance.now() - t0) / p.n);
          if (bucket && before) {
            const calls = Math.max(1, bucket.calls - before.calls);
            p.splits.push({
              calls, ms: (bucket.ms - before.ms) / calls, conv: (bucket.conv - before.conv) / calls,
              transpose: (bucket.transpose - before.transpose) / calls, activation: (bucket.activation - before.activation) / calls,
            });
          }
        }
      }
      profiler.sink = undefined;
      for (const p of plan) {
        const cell = row[p.engine.name]!;
        const of = (field: keyof Bucket) => median(p.splits.map((b) => b[field]));
        Object.assign(cell, {
          medianMs: median(p.times), samples: p.times.length, callsPerSample: p.n,
          ...(p.splits.length ? { kernelMs: of("ms"), convMs: of("conv"), transposeMs: of("transpose"), activationMs: of("activation") } : {}),
        });
        progress(`${layer.name} ${direction} ${p.engine.name}: ${cell.medianMs!.toFixed(3)} ms (${p.times.length} × ${p.n} calls)`);
      }
      // Leave the plugin's kernel in place for the next direction's swaps.
      for (const b of ["wasm", "cpu"]) install(b, kernel, registry.plugin.get(key(b, kernel)));
    }
    for (const t of Object.values(tensors)) tf.dispose([t.x, t.w, t.dy]);
    results.push({ layer, flops: layerFlops(layer), cells });
  }
  registration.unregister();

  const titles: Record<KernelDirection, string> = {
    forward: "forward: Conv2D / DepthwiseConv2dNative (tf.conv2d, tf.depthwiseConv2d); the plugin's via forward \"replace\", tfjs-wasm's is XNNPACK",
    dx: "dx: Conv2DBackpropInput / DepthwiseConv2dNativeBackpropInput (runKernel)",
    dw: "dw: Conv2DBackpropFilter / DepthwiseConv2dNativeBackpropFilter (runKernel)",
  };
  for (const direction of KERNEL_DIRECTIONS) {
    console.log(`### ${titles[direction]}\n`);
    console.log("| layer | shape (N, C, H=W, F, K, s, p, d, g) | plugin (wasm) ms | GFLOP/s | of which in its kernelFunc: conv / transposes / copies ms | tfjs-wasm ms (÷ plugin) | plugin (cpu) ms | tfjs-cpu ms (÷ plugin cpu) | agreement |");
    console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (const r of results) {
      const row = r.cells[direction];
      const pw = row["plugin (wasm)"], tw = row["tfjs-wasm"], pc = row["plugin (cpu)"], tc = row["tfjs-cpu"];
      const ms = (c: KernelCell | undefined) => (c?.medianMs === undefined ? "—" : fmt(c.medianMs, c.medianMs < 1 ? 3 : 2));
      const versus = (c: KernelCell | undefined, base: KernelCell | undefined) =>
        c?.medianMs === undefined ? "—" : `${ms(c)} (${base?.medianMs ? fmt(c.medianMs / base.medianMs) : "?"}×)`;
      const l = r.layer;
      const bad = ENGINES.filter((e) => row[e.name]?.agreement && row[e.name]!.agreement !== "ok").map((e) => `${e.name}: ${row[e.name]!.agreement}`);
      console.log(`| ${l.name} | ${l.N}, ${l.C}, ${l.size}, ${l.F}, ${l.K}, ${l.stride}, ${l.pad}, ${l.dilation}, ${l.groups} | ${ms(pw)} | ` +
        `${pw?.medianMs ? fmt(r.flops / pw.medianMs / 1e6, 1) : "—"} | ${pw?.kernelMs === undefined ? "—" : split(pw)} | ` +
        `${versus(tw, pw)} | ${ms(pc)} | ${versus(tc, pc)} | ${bad.length ? bad.join("; ") : "ok"} |`);
    }
    console.log("");
  }
  const notes = new Set<string>(), few: string[] = [];
  for (const r of results) for (const d of KERNEL_DIRECTIONS) for (const e of ENGINES) {
    const c = r.cells[d][e.name];
    if (c?.unsupported) notes.add(c.unsupported);
    if (c?.once) few.push(`${r.layer.name} ${d} ${e.name} (one call: the warm-up)`);
    else if (c?.samples !== undefined && c.samples < settings.kernelSamples) few.push(`${r.layer.name} ${d} ${e.name} (${c.samples} sample${c.samples > 1 ? "s" : ""} of ${c.callsPerSample} call${c.callsPerSample! > 1 ? "s" : ""})`);
  }
  if (notes.size) console.log(`"—": ${[...notes].join("; ")}.\n`);
  if (few.length) console.log(`Timed on fewer than ${settings.kernelSamples} samples (calls of seconds): ${few.join(", ")}.\n`);
  console.log(`The plugin's split is ms per call, medians over the samples; what the plugin (wasm) column has beyond its kernelFunc is tfjs's op and engine, and the dataSync() readback.\n`);
  return results.map((r) => ({ ...r.layer, flopsPerDirection: r.flops, results: r.cells }));
}

/** conv / transposes / copies (the rest of the kernelFunc: copies in and out, output tensor, fused activation) ms per call. */
function split(c: KernelCell): string {
  const copies = c.kernelMs! - c.convMs! - c.transposeMs!;
  return `${fmt(c.convMs, 3)} / ${fmt(c.transposeMs, 3)} / ${fmt(copies, 3)}`;
}

/** "ok" when b matches a to float32 summation-order noise (bench/run.ts's rule). */
function agreement(a: Float32Array, b: Float32Array): string {
  if (a.length !== b.length) return `DISAGREES: ${b.length} values, not ${a.length}`;
  let worst = 0, scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return worst / scale <= 1e-3 ? "ok" : `DISAGREES (max diff ${(worst / scale).toExponential(1)} of scale)`;
}

// ————————————————————————————————————————————————————————————————————————————————————————— main

const lenet = args.only === "kernels" ? undefined : await lenetBench();
const kernels = args.only === "lenet" ? undefined : await kernelBench();

const loadAfter = os.loadavg();
const seconds = (performance.now() - started) / 1000;
console.log(`load average after: ${loadText(loadAfter)}; ${seconds.toFixed(0)} s in all`);
const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
const file = `bench/results/tfjs-plugin-${stamp}${quick ? "-quick" : ""}.json`;
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
await writeFile(new URL(`../${file}`, import.meta.url), JSON.stringify({
  date: new Date().toISOString(),
  command: `npm run bench:tfjs${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  seconds,
  machine: {
    cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node, v8: process.versions.v8, platform: `${os.platform()} ${os.release()}`,
    loadAverageBefore: loadBefore, loadAverageAfter: loadAfter,
  },
  versions: { tfjs: tf.version.tfjs, wasmConv2d: ourVersion },
  settings,
  lenet: lenet && {
    stepsPerEpoch: lenet.stepsPerEpoch, cpuAloneSteps: lenet.cpuSteps, summary: lenet.summary, ratios: lenet.ratios,
    breakdownMsPerStep: lenet.breakdown,
    configs: lenet.configs.map((c) => ({ name: c.name, short: c.short, backend: c.backend ?? null, plugin: c.plugin ?? null, runs: c.runs })),
  },
  kernels: kernels && { layers: kernels },
}, null, 1) + "\n");
console.log(`wrote ${file}`);
