// npm run bench:onnx: whole networks exported with exportOnnx, timed forward in importOnnx (wasm-conv2d), onnxruntime-web and onnxruntime-node, interleaved round-robin in one process.

import os from "node:os";
import v8 from "node:v8";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { Random } from "../js/core/random.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
v8.setFlagsFromString("--no-liftoff"); // every module (ours and ORT Web's) compiled by the optimising tier up front: steady-state figures

const { values: args } = parseArgs({ options: {
  quick: { type: "boolean", default: false },
  reps: { type: "string" }, // samples per engine for ResNet-18 (default 15, --quick 2); the small models take 25 (--quick 3)
  models: { type: "string" }, // comma-separated subset of the model keys below
  help: { type: "boolean", default: false },
} });
if (args.help) {
  console.log("npm run bench:onnx [-- --quick] [--reps N] [--models resnet18,lenet-1,lenet-32,resnet-1,resnet-32]");
  process.exit(0);
}
const quick = args.quick!;
const bigReps = Number(args.reps ?? (quick ? 2 : 15));
const smallReps = Number(args.reps ?? (quick ? 3 : 25));
const warmups = quick ? 1 : 3;
/** A sample runs back-to-back calls for at least this long (sub-millisecond models), then counts as ms per call. */
const sampleMs = quick ? 5 : 25;
/** Forwards of the per-op profile (outside the timed samples); each op type's fastest. */
const profileReps = quick ? 2 : 5;

type Api = typeof import("../dist/index.js");
const api = (await import("../dist/index.js")) as Api;
const { exportOnnx, importOnnx } = await import("../dist/onnx/index.js");
const { decodeModel } = await import("../dist/onnx/proto.js");
const { resNet18, randomizeBatchNorm } = await import("./lib/resnet18.ts");
const { leNet } = await import("../examples/mnist/lenet.mjs");
const { resNet } = await import("../examples/mnist/resnet.mjs");
const ortWeb = await import("onnxruntime-web");
const ortNode = await import("onnxruntime-node");
const require = createRequire(import.meta.url);

ortWeb.env.wasm.numThreads = 1; // fixed at ORT Web's first session, for the whole module instance: 2 threads run in a worker (below)

// ---------------------------------------------------------------------------------------------
// Models: built here, exported once each (evaluation mode, symbolic batch), the same bytes for every engine.

interface ModelCase { key: string; name: string; bytes: Uint8Array; shape: number[]; x: Float32Array; hasBatchNorm: boolean; nodes: Record<string, number> }

function opCounts(bytes: Uint8Array): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of decodeModel(bytes).graph!.node) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

const runtime0 = await api.init({ simd: "fixed" }); // the models are built (and exported) in this one
const wanted = new Set((args.models ?? "resnet18,lenet-1,lenet-32,resnet-1,resnet-32").split(","));
const models: ModelCase[] = [];
function exported(layer: InstanceType<Api["Sequential"]>, inputShape: number[]): Uint8Array {
  layer.eval();
  const bytes = exportOnnx(layer, { inputShape });
  layer.dispose();
  return bytes;
}
if (wanted.has("resnet18")) {
  const bytes = exported(resNet18(1), [1, 3, 224, 224]);
  models.push({ key: "resnet18", name: "ResNet-18 (torchvision), 1×3×224×224", bytes, shape: [1, 3, 224, 224],
    x: new Random(11).uniformArray(3 * 224 * 224, -1, 1), hasBatchNorm: true, nodes: opCounts(bytes) });
}
if (wanted.has("lenet-1") || wanted.has("lenet-32")) {
  const bytes = exported(leNet(1), [1, 1, 28, 28]);
  for (const n of [1, 32]) if (wanted.has(`lenet-${n}`)) {
    models.push({ key: `lenet-${n}`, name: `LeNet (npm start), ${n}×1×28×28`, bytes, shape: [n, 1, 28, 28],
      x: new Random(12).uniformArray(n * 784, 0, 1), hasBatchNorm: false, nodes: opCounts(bytes) });
  }
}
if (wanted.has("resnet-1") || wanted.has("resnet-32")) {
  const model = resNet(1);
  randomizeBatchNorm(model, 2); // trained-looking statistics, as ResNet-18's, so that folding is not the identity
  const bytes = exported(model, [1, 1, 28, 28]);
  for (const n of [1, 32]) if (wanted.has(`resnet-${n}`)) {
    models.push({ key: `resnet-${n}`, name: `small ResNet (train:resnet), ${n}×1×28×28`, bytes, shape: [n, 1, 28, 28],
      x: new Random(13).uniformArray(n * 784, 0, 1), hasBatchNorm: true, nodes: opCounts(bytes) });
  }
}

// ---------------------------------------------------------------------------------------------
// Engines. prepare() (session or model creation, the input tensor) is untimed; run(calls) times `calls`
// back-to-back forwards and also reads the process's CPU time over them (all threads), so cpu ÷ wall
// shows whether a second thread really worked.

interface Sample { ms: number; cpuMs: number }
interface Prepared {
  run(calls: number): Promise<Sample>;
  output(): Promise<Float32Array>;
  /** ms per op type of one forward, where the engine can say (ours: each node timed; onnxruntime-node: its profiler). */
  profile?(): Promise<Record<string, number>>;
  dispose(): Promise<void>;
}
interface Engine { name: string; threads: number; foldBatchNorm?: boolean; note: string; prepare(m: ModelCase): Promise<Prepared> }

const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
async function timed(calls: number, one: () => unknown): Promise<Sample> {
  const c0 = cpuNow(), t0 = performance.now();
  for (let i = 0; i < calls; i++) await one();
  return { ms: performance.now() - t0, cpuMs: cpuNow() - c0 };
}
/**
 * Waits until the process is idle again (under 1 ms of CPU in a 10 ms slice, 300 ms at most) and returns
 * how long that took: onnxruntime's intra-op threads spin for tens of ms after a run (allow_spinning, its
 * default), which would take the second core from the next engine in the round.
 */
async function settle(): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 300) {
    const c0 = cpuNow();
    await new Promise((r) => setTimeout(r, 10));
    if (cpuNow() - c0 < 1) break;
  }
  return performance.now() - t0;
}
function timedSync(calls: number, one: () => void): Sample {
  const c0 = cpuNow(), t0 = performance.now();
  for (let i = 0; i < calls; i++) one();
  return { ms: performance.now() - t0, cpuMs: cpuNow() - c0 };
}

type Runtime = Awaited<ReturnType<Api["createRuntime"]>>;
const threadsRuntimes: Runtime[] = [];
const workers: Worker[] = [];

async function oursEngines(): Promise<{ engines: Engine[]; notes: string[] }> {
  const notes: string[] = [];
  const configs: { simd: "fixed" | "relaxed"; threads: number }[] = [{ simd: "fixed", threads: 1 }];
  const relaxed = api.hasRelaxedSimd();
  if (relaxed) configs.push({ simd: "relaxed", threads: 1 });
  else notes.push("wasm-conv2d: no relaxed SIMD in this engine, relaxed rows left out");
  if (os.availableParallelism() >= 2) configs.push({ simd: relaxed ? "relaxed" : "fixed", threads: 2 });
  else notes.push("wasm-conv2d: one core, 2-thread rows left out");
  const engines: Engine[] = [];
  for (const c of configs) {
    let runtime: Runtime;
    try {
      runtime = await api.createRuntime({ simd: c.simd, threads: c.threads });
    } catch (error) {
      notes.push(`wasm-conv2d ${c.simd} ${c.threads} threads: ${(error as Error).message}`);
      continue;
    }
    if (c.threads > 1) threadsRuntimes.push(runtime);
    for (const fold of [false, true]) {
      engines.push({
        name: `wasm-conv2d ${c.simd}${fold ? ", BN folded" : ""}`, threads: c.threads, foldBatchNorm: fold,
        note: `importOnnx(bytes, { foldBatchNorm: ${fold} }) in createRuntime({ simd: "${c.simd}", threads: ${c.threads} }) (${runtime.label}); model.eval().forward(x), output disposed`,
        async prepare(m) {
          const model = importOnnx(m.bytes, { runtime, foldBatchNorm: fold });
          model.eval();
          const x = api.tensor(m.x, m.shape, runtime);
          const once = () => model.forward(x).dispose();
          return {
            run: async (calls) => timedSync(calls, once),
            output: async () => { const y = model.forward(x); const out = y.toFloat32Array(); y.dispose(); return out; },
            profile: async () => {
              // Each node's run timed through the model's per-node wrapper (private; a benchmark-only peek).
              const self = model as unknown as { step<T>(proto: { opType: string }, what: string, run: () => T): T };
              const step = self.step;
              const acc: Record<string, number> = {};
              self.step = function <T>(proto: { opType: string }, what: string, run: () => T): T {
                const t0 = performance.now();
                try { return step.call(this, proto, what, run) as T; } finally { acc[proto.opType] = (acc[proto.opType] ?? 0) + performance.now() - t0; }
              };
              const best: Record<string, number> = {};
              for (let i = 0; i < profileReps; i++) {
                for (const k of Object.keys(acc)) acc[k] = 0;
                once();
                for (const [k, v] of Object.entries(acc)) best[k] = Math.min(best[k] ?? Infinity, v);
              }
              self.step = step;
              return best;
            },
            dispose: async () => { x.dispose(); model.dispose(); },
          };
        },
      });
    }
  }
  return { engines, notes };
}

const ortWebSessionOptions = { executionProviders: ["wasm"], graphOptimizationLevel: "all" } as const;

function ortWebEngine(): Engine {
  return {
    name: "onnxruntime-web", threads: 1,
    note: `onnxruntime-web ${ortWeb.env.versions.web} (its Node build, dist/ort.node.min.mjs), wasm EP, SIMD, env.wasm.numThreads = 1, graphOptimizationLevel "all", on the main thread; session.run timed with its input copy into the wasm heap and output copy out`,
    async prepare(m) {
      const session = await ortWeb.InferenceSession.create(m.bytes, ortWebSessionOptions);
      const feeds = { [session.inputNames[0]!]: new ortWeb.Tensor("float32", m.x, m.shape) };
      const out = session.outputNames[0]!;
      return {
        run: (calls) => timed(calls, async () => { (await session.run(feeds))[out]!.dispose(); }),
        output: async () => ((await session.run(feeds))[out]!.data as Float32Array).slice(),
        dispose: () => session.release(),
      };
    },
  };
}

/**
 * ORT Web with env.wasm.numThreads = 2 needs its own module instance (the thread count is fixed when its
 * wasm starts, and onnxruntime-common's registry and env are shared by every import in a module graph):
 * a worker_thread of this process loads it (the CommonJS build) and times its calls itself.
 */
const ORT_WEB_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const threadsNow = () => Number(/Threads:\\s*(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN);
const ort = require(workerData.ortPath);
ort.env.wasm.numThreads = workerData.threads;
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let session = null, feeds = null, out = null;
parentPort.on("message", async (msg) => {
  try {
    if (msg.type === "prepare") {
      const before = threadsNow();
      session = await ort.InferenceSession.create(msg.bytes, workerData.sessionOptions);
      feeds = { [session.inputNames[0]]: new ort.Tensor("float32", msg.x, msg.shape) };
      out = session.outputNames[0];
      parentPort.postMessage({ ok: true, numThreads: ort.env.wasm.numThreads, threadsBefore: before, threadsAfter: threadsNow() });
    } else if (msg.type === "run") {
      const c0 = cpuNow(), t0 = performance.now();
      for (let i = 0; i < msg.calls; i++) (await session.run(feeds))[out].dispose();
      parentPort.postMessage({ ok: true, ms: performance.now() - t0, cpuMs: cpuNow() - c0 });
    } else if (msg.type === "output") {
      parentPort.postMessage({ ok: true, y: (await session.run(feeds))[out].data.slice() });
    } else if (msg.type === "dispose") {
      await session.release();
      session = null;
      parentPort.postMessage({ ok: true });
    }
  } catch (error) {
    parentPort.postMessage({ ok: false, error: String(error && error.stack || error) });
  }
});
`;

function ortWebWorkerEngine(threads: number, notes: string[]): Engine {
  let worker: Worker | null = null;
  const call = <T>(msg: object): Promise<T> => new Promise((resolve, reject) => {
    worker!.once("message", (r: { ok: boolean; error?: string } & T) => (r.ok ? resolve(r) : reject(new Error(r.error))));
    worker!.postMessage(msg);
  });
  let reported = false;
  return {
    name: `onnxruntime-web, ${threads} threads (worker)`, threads,
    note: `onnxruntime-web, wasm EP, SIMD, env.wasm.numThreads = ${threads} (its pthreads are Node worker_threads), graphOptimizationLevel "all", in a worker_thread of this process that times session.run itself`,
    async prepare(m) {
      if (!worker) {
        worker = new Worker(ORT_WEB_WORKER, { eval: true, workerData: { ortPath: require.resolve("onnxruntime-web"), threads, sessionOptions: ortWebSessionOptions } });
        workers.push(worker);
      }
      const r = await call<{ numThreads: number; threadsBefore: number; threadsAfter: number }>({ type: "prepare", bytes: m.bytes, x: m.x, shape: m.shape });
      if (!reported) {
        reported = true;
        notes.push(`onnxruntime-web in the worker: env.wasm.numThreads reads ${r.numThreads} after its first session; the process's OS threads went ${r.threadsBefore} → ${r.threadsAfter} over it`);
      }
      return {
        run: (calls) => call<Sample>({ type: "run", calls }),
        output: async () => (await call<{ y: Float32Array }>({ type: "output" })).y,
        dispose: async () => { await call({ type: "dispose" }); },
      };
    },
  };
}

function ortNodeEngine(intra: number): Engine {
  const options = { executionProviders: ["cpu"], intraOpNumThreads: intra, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" } as const;
  return {
    name: `onnxruntime-node`, threads: intra,
    note: `onnxruntime-node 1.30.0, cpu EP, intraOpNumThreads ${intra}, interOpNumThreads 1, sequential, graphOptimizationLevel "all"; session.run timed end to end (its setImmediate hop, the input handed to the native session, the output copied back to JS)`,
    async prepare(m) {
      const session = await ortNode.InferenceSession.create(m.bytes, options);
      const feeds = { [session.inputNames[0]!]: new ortNode.Tensor("float32", m.x, m.shape) };
      const out = session.outputNames[0]!;
      return {
        run: (calls) => timed(calls, async () => { (await session.run(feeds))[out]!.dispose(); }),
        output: async () => ((await session.run(feeds))[out]!.data as Float32Array).slice(),
        profile: intra === 1 ? async () => {
          // A separate profiling session (its node events: the ops after ORT's fusions, e.g. FusedConv).
          const prefix = `/tmp/onnx-inference-ort-profile-${process.pid}`;
          const s = await ortNode.InferenceSession.create(m.bytes, { ...options, enableProfiling: true, profileFilePrefix: prefix });
          for (let i = 0; i < profileReps; i++) await s.run(feeds);
          s.endProfiling();
          await s.release();
          const files = readdirSync("/tmp").filter((f) => f.startsWith(prefix.slice(5)) && f.endsWith(".json"));
          const best: Record<string, number> = {};
          for (const f of files) {
            const events = JSON.parse(readFileSync(`/tmp/${f}`, "utf8")) as { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }[];
            rmSync(`/tmp/${f}`);
            // Each model_run event spans one run's node events: per run, the op types' sums; then the fastest run's of each.
            for (const run of events.filter((e) => e.cat === "Session" && e.name === "model_run")) {
              const acc: Record<string, number> = {};
              for (const e of events) {
                if (e.cat === "Node" && e.name.endsWith("_kernel_time") && e.args?.op_name && e.ts >= run.ts && e.ts <= run.ts + run.dur) {
                  acc[e.args.op_name] = (acc[e.args.op_name] ?? 0) + e.dur / 1000;
                }
              }
              for (const [k, v] of Object.entries(acc)) best[k] = Math.min(best[k] ?? Infinity, v);
            }
          }
          return best;
        } : undefined,
        dispose: () => session.release(),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The run.

const notes: string[] = [];
const ours = await oursEngines();
notes.push(...ours.notes);
const engines: Engine[] = [...ours.engines, ortWebEngine(), ortWebWorkerEngine(2, notes), ortNodeEngine(1), ortNodeEngine(2)];
const REF_WEB = "onnxruntime-web|1", REF_NODE = "onnxruntime-node|1";
const id = (e: Engine) => `${e.name}|${e.threads}`;

const quantile = (sorted: number[], q: number) => {
  const i = (sorted.length - 1) * q, lo = Math.floor(i), hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
};
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

interface Row { engine: string; threads: number; foldBatchNorm: boolean; prepareMs: number; callsPerSample: number; samplesMs: number[]; settleMs: number; medianMs: number; q1Ms: number; q3Ms: number; cpuPerWall: number; maxAbsDiffVsOrtNode: number }
const results: { key: string; name: string; inputShape: number[]; modelBytes: number; nodes: Record<string, number>; reps: number; rows: Row[]; folding?: Record<string, number>; profileMs?: Record<string, Record<string, number>> }[] = [];
const started = Date.now();

for (const m of models) {
  const reps = m.key === "resnet18" ? bigReps : smallReps;
  const active = engines.filter((e) => !e.foldBatchNorm || m.hasBatchNorm); // folding a model without batch norm changes nothing
  process.stderr.write(`${m.name}: ${(m.bytes.length / 1e6).toFixed(1)} MB of ONNX, ${JSON.stringify(m.nodes)}; ${active.length} engines, ${reps} samples each\n`);
  const prepared = new Map<string, Prepared>();
  const prepareMs: Record<string, number> = {};
  for (const e of active) {
    const t0 = performance.now();
    prepared.set(id(e), await e.prepare(m));
    prepareMs[id(e)] = performance.now() - t0;
  }
  // Warm-up, and how many calls make one sample.
  const calls = new Map<string, number>();
  for (const e of active) {
    const p = prepared.get(id(e))!;
    let one = Infinity;
    for (let i = 0; i < warmups; i++) one = Math.min(one, (await p.run(1)).ms);
    calls.set(id(e), Math.max(1, Math.ceil(sampleMs / Math.max(one, 1e-3))));
  }
  // Round-robin: every engine one sample, then again, so that the host's drift hits all alike.
  const samples = new Map<string, Sample[]>(active.map((e) => [id(e), []]));
  const settled = new Map<string, number[]>(active.map((e) => [id(e), []]));
  await settle();
  for (let r = 0; r < reps; r++) {
    for (const e of active) {
      samples.get(id(e))!.push(await prepared.get(id(e))!.run(calls.get(id(e))!));
      settled.get(id(e))!.push(await settle());
    }
  }
  // Outputs, against onnxruntime-node's (1 thread).
  const outputs = new Map<string, Float32Array>();
  for (const e of active) outputs.set(id(e), await prepared.get(id(e))!.output());
  const ref = outputs.get(REF_NODE)!;
  const rows: Row[] = active.map((e) => {
    const s = samples.get(id(e))!, k = calls.get(id(e))!;
    const perCall = s.map((x) => x.ms / k).sort((a, b) => a - b);
    const wall = s.reduce((t, x) => t + x.ms, 0), cpu = s.reduce((t, x) => t + x.cpuMs, 0);
    return { engine: e.name, threads: e.threads, foldBatchNorm: !!e.foldBatchNorm, prepareMs: prepareMs[id(e)]!, callsPerSample: k, samplesMs: s.map((x) => x.ms / k),
      settleMs: settled.get(id(e))!.reduce((t, v) => t + v, 0) / reps, medianMs: quantile(perCall, 0.5), q1Ms: quantile(perCall, 0.25), q3Ms: quantile(perCall, 0.75), cpuPerWall: cpu / wall,
      maxAbsDiffVsOrtNode: maxAbsDiff(outputs.get(id(e))!, ref) };
  });
  const entry: (typeof results)[number] = { key: m.key, name: m.name, inputShape: m.shape, modelBytes: m.bytes.length, nodes: m.nodes, reps, rows };
  if (m.hasBatchNorm) {
    const y = outputs.get("wasm-conv2d fixed|1")!, yf = outputs.get("wasm-conv2d fixed, BN folded|1")!;
    entry.folding = {
      maxAbsY: maxAbs(y), maxAbsFoldedMinusUnfolded: maxAbsDiff(yf, y),
      maxAbsUnfoldedMinusOrtNode: maxAbsDiff(y, ref), maxAbsFoldedMinusOrtNode: maxAbsDiff(yf, ref), maxAbsOrtNode: maxAbs(ref),
    };
  }
  // Where the time goes, one forward, outside the timed samples.
  entry.profileMs = {};
  for (const e of active) {
    const p = prepared.get(id(e))!;
    if (p.profile && (e.threads === 1)) entry.profileMs[id(e)] = await p.profile();
  }
  for (const e of active) await prepared.get(id(e))!.dispose();
  results.push(entry);
}
for (const r of threadsRuntimes) r.terminate();
for (const w of workers) await w.terminate();

// ---------------------------------------------------------------------------------------------
// Report.

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const e3 = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : "–");
console.log(`\n${quick ? "QUICK RUN (--quick: few samples, noisy; not for citing). " : ""}Forward of whole networks exported by exportOnnx, the same bytes to every engine; one process, engines interleaved round-robin.`);
console.log(`Per model: median ms per forward over its samples, IQR (q3 − q1), speed ÷ onnxruntime-web's (1 thread) and ÷ onnxruntime-node's (1 thread): above 1 is faster than that peer.`);
console.log(`cpu/wall: the process's CPU time over the samples ÷ their wall time (≈ 1 on one thread; up to 2 when a second thread works). load ms: importOnnx or session creation (untimed). idle after: the mean wait, after each sample, until the process's CPU went quiet (10 ms = at once), outside the timing.`);
for (const r of results) {
  console.log(`\n### ${r.name} — ${r.reps} samples per engine; ${Object.entries(r.nodes).map(([k, v]) => `${v} ${k}`).join(", ")}\n`);
  console.log("| engine | threads | ms (median) | IQR ms | × ort-web 1t | × ort-node 1t | calls/sample | cpu/wall | max abs diff vs ort-node | load ms | idle after, ms |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const web = r.rows.find((x) => `${x.engine}|${x.threads}` === REF_WEB)!, node = r.rows.find((x) => `${x.engine}|${x.threads}` === REF_NODE)!;
  for (const x of r.rows) {
    console.log(`| ${x.engine} | ${x.threads} | ${f(x.medianMs)} | ${f(x.q3Ms - x.q1Ms)} | ${f(web.medianMs / x.medianMs, 2)} | ${f(node.medianMs / x.medianMs, 2)} | ${x.callsPerSample} | ${f(x.cpuPerWall, 2)} | ${e3(x.maxAbsDiffVsOrtNode)} | ${f(x.prepareMs, 0)} | ${f(x.settleMs, 0)} |`);
  }
  if (r.folding) {
    const g = r.folding;
    console.log(`\nbatch-norm folding (wasm-conv2d fixed): max |y_folded − y| = ${e3(g.maxAbsFoldedMinusUnfolded!)}, max |y| = ${f(g.maxAbsY!, 4)}; ` +
      `against onnxruntime-node (1 thread): max |y − y_ort| = ${e3(g.maxAbsUnfoldedMinusOrtNode!)}, max |y_folded − y_ort| = ${e3(g.maxAbsFoldedMinusOrtNode!)}`);
  }
  if (r.profileMs && Object.keys(r.profileMs).length) {
    console.log(`\nms per forward by op type (one thread, outside the timed samples, each op type's fastest of ${profileReps} forwards; ORT's ops are those after its fusions):`);
    for (const [who, ops] of Object.entries(r.profileMs)) {
      const total = Object.values(ops).reduce((s, v) => s + v, 0);
      console.log(`  ${who.replace("|1", "")}: ${Object.entries(ops).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f(v, 3)}`).join(", ")} (sum ${f(total, 2)})`);
    }
  }
}
console.log("\nEngines:");
for (const e of engines) console.log(`- ${e.name} (${e.threads} thread${e.threads > 1 ? "s" : ""}): ${e.note}`);
for (const n of notes) console.log(`- ${n}`);

const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
const record = {
  date: new Date().toISOString(), command: `npm run bench:onnx${quick ? " -- --quick" : ""}`, seconds: Math.round((Date.now() - started) / 1000),
  machine: `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node} (V8 ${process.versions.v8})`,
  load: os.loadavg(), options: { quick, bigReps, smallReps, warmups, sampleMs },
  versions: { onnxruntimeWeb: ortWeb.env.versions.web, onnxruntimeNode: "1.30.0", runtime0: runtime0.label },
  engines: engines.map((e) => ({ name: e.name, threads: e.threads, note: e.note })), notes, models: results,
};
// Quick runs go to /tmp: the docs test fails on any bench/results file that bench/RESULTS.md does not cite.
const file = quick ? `/tmp/onnx-inference-quick-${stamp}.json` : `bench/results/onnx-inference-${stamp}.json`;
if (!quick) await mkdir(new URL("./results/", import.meta.url), { recursive: true });
await writeFile(quick ? file : new URL(`../${file}`, import.meta.url), JSON.stringify(record, null, 1));
console.log(`\nwrote ${file}`);
