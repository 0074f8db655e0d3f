// Fuzzes every export of js/index.ts and of the onnx and tfjs subpaths with random, mostly wrong arguments (sync and async, one thread and a pool): each call returns or throws a catalogued ConvError, leaks no bytes, leaves its inputs alone, and later valid calls give the same bits.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFile } from "node:fs/promises";
import * as core from "../../js/index.js";
import * as onnx from "../../js/onnx/index.js";
import * as tfjsPlugin from "../../js/tfjs/index.js";
import * as tf from "@tensorflow/tfjs";
import { ErrorCode, type Layer, type Runtime, type Tensor } from "../../js/index.js";

/** The package's exports: the root's and the wasm-conv2d/onnx and wasm-conv2d/tfjs subpaths'. */
const source = { ...core, ...onnx, ...tfjsPlugin };

/**
 * The API as one world sees it: js/ itself for one thread; dist/ (the same code, built) for the pool,
 * whose workers load the compiled worker.js. Each copy has its own classes, so every instanceof asks
 * the world's copy.
 */
type Api = typeof source;
const apis: Api[] = [source];
const isTensor = (v: unknown): v is Tensor => apis.some((a) => v instanceof a.Tensor);
const isRuntime = (v: unknown): v is Runtime => apis.some((a) => v instanceof a.Runtime);

// A failure prints its seed: FUZZ_SEED=<seed> replays the run; FUZZ_CALLS=<n> sets the calls per phase (longer local runs).
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const CALLS = process.env.FUZZ_CALLS ? Number(process.env.FUZZ_CALLS) : 2000;
const CODES = new Set<string>(Object.values(ErrorCode));

/** The exports no spec below calls, and why; every other export must be fuzzed (a new one fails the coverage test until it is). */
const NOT_FUZZED: Record<string, string> = {
  ErrorCode: "a constant",
  GRADCHECK_TOLERANCE: "a constant",
  ConvError: "the error class itself (the library's own code constructs it)",
  Tensor: "@internal constructor (tensor() and zeros() make tensors); its methods are fuzzed on instances",
  Runtime: "@internal constructor (init() and createRuntime() make runtimes); memoryUsage() is fuzzed on instances",
  Optimizer: "abstract; step, zeroGrad, lr and dispose are fuzzed through SGD and Adam",
};

const INIT_KEYS = ["wasm", "simd", "threads"];
const CONV_KEYS = ["stride", "pad", "dilation", "groups"];
const TRANSPOSE_KEYS = ["stride", "pad", "outputPadding", "dilation", "groups"];
const MAX_POOL_KEYS = ["kernelSize", "stride", "pad", "dilation", "ceilMode"];
const AVG_POOL_KEYS = ["kernelSize", "stride", "pad", "ceilMode", "countIncludePad"];
const BATCH_NORM_KEYS = ["numFeatures", "eps", "momentum", "affine", "trackRunningStats", "runtime"];
const GRADCHECK_KEYS = ["batch", "inChannels", "outChannels", "height", "width", "kernelSize", "bias", "seed", "step", "backward", "runtime", ...CONV_KEYS];

// ---- A seeded generator (mulberry32): every choice below comes from it, so a seed replays a run exactly.

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  data(n: number): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.next() * 2 - 1;
    return a;
  }
}

// ---- The argument pool.

type Call = (args: unknown[]) => unknown;

interface Spec {
  /** How a failure names the call: "conv2d", "Conv2d#backward". */
  name: string;
  /** The export it exercises (the coverage test). */
  export: string;
  call: Call;
  /** A fresh, valid argument list; mutations start from it. */
  valid: () => unknown[];
  /** Keys worth setting wrongly in an options argument. */
  keys?: readonly string[];
  weight?: number;
  /** It frees its receiver (dispose): the session's end checks the bytes instead. */
  frees?: boolean;
}

interface Session {
  name: string;
  export: string;
  weight?: number;
  /** Builds the receiver validly; its methods are then called with fuzzed arguments. */
  setup: () => { methods: Spec[]; teardown: () => void; known: object[]; holdsActivations?: boolean };
}

interface World {
  label: string;
  api: Api;
  /** The options of the init() that made rt, the world's default runtime. */
  defaults: { simd: string; threads: number };
  rt: Runtime;
  other: Runtime;
  rng: Rng;
  values: unknown[];
  tensors: Tensor[];
  known: WeakSet<object>;
  specs: Spec[];
  asyncSpecs: Spec[];
  sessions: Session[];
  stats: { calls: number; ok: number; codes: Map<string, number> };
}

/** Values that would, as a stride, pad or dilation, still be valid or nearly so: only there, never as a size (2^28 elements would really be allocated). */
const STEP_VALUES: unknown[] = [
  2 ** 28, 2 ** 28 + 1, [2 ** 28, 1], [1, 2 ** 28], [2, 1], [1, 3], [0, 1], [, 1], [1, ,], { top: 2 ** 28 }, { top: -1 }, { left: 1.5 },
  { top: 1, bottom: 2, left: 0, right: 3 }, { top: 1, up: 2 }, "same", "valid", "SAME", [1, 1, 1, 1],
];

function genericValues(): unknown[] {
  const symbol = Symbol("fuzz");
  return [
    undefined, null, NaN, Infinity, -Infinity, -1, 0, -0, 1, 2, 3, 4, 1.5, 0.5, 1e-9, 2 ** 30, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53,
    Number.MAX_VALUE, Number.MIN_VALUE, -(2 ** 31),
    "", "x", "same", "valid", "auto", "fixed", "relaxed", "2", "dx", "\u0000",
    symbol, Symbol.iterator, 0n, 1n, 2n ** 64n, true, false,
    () => {}, function named() { return 1; }, async () => 1, (a: unknown) => a, Math.max,
    {}, { foo: 1 }, { stride: 2 }, { pad: "same" }, { dx: false }, { grad: false }, { inputGrad: false }, { lr: 0.1 }, { inChannels: 3 },
    Object.create(null), { [symbol]: 1 }, { valueOf: () => 2 }, { toString: () => "same" }, { length: 2, 0: 1, 1: 2 }, { length: -1 },
    new Date(0), new Map([[1, 2]]), new Set([1]), /x/, new Error("a plain error as a value"), Promise.resolve(3), new ArrayBuffer(8),
    [], [1], [2], [1, 2], [2, 2], [1, 2, 3], [2, 3, 4, 4], [1, 1, 3, 3], [1, 2, 3, 4, 5], [NaN, NaN], [0, 1], [-1, 2], [1.5, 1],
    [symbol, 1], ["1", "2"], [[1], [2]], [1n, 2n], [null, null], [undefined, 1], [true, false], [{}], [0.9, 0.999], [0.5, 1],
    [, 1], [0.5, ,], [1, , 3, 3], [2, 3, , 4], new Array(2), new Array(4), [2 ** 30, 2 ** 30], [2 ** 15, 2 ** 15], [65536, 65536, 4],
    new Array<number>(12).fill(2),
    new Float32Array(0), new Float32Array(4), Float32Array.of(NaN, Infinity, -0, 1), new Float64Array(4), Int32Array.of(0, 1, 2),
    new Uint8Array(2), Int8Array.of(-1, 5), Uint32Array.of(2 ** 32 - 1), Uint8ClampedArray.of(1, 2), new Int16Array(3),
    new BigInt64Array(2), new BigUint64Array(2), new DataView(new ArrayBuffer(8)),
  ];
}

/** A layer of the user's own that behaves (an identity): Sequential must take it. */
function identityLayer(): Layer {
  return { forward: (x: Tensor) => x, backward: (dy: Tensor) => dy, parameters: () => [], zeroGrad() {}, dispose() {} };
}

// ---- Describing values safely (symbols, holes, tensors) for failure reports.

function show(value: unknown, depth = 0): string {
  if (isTensor(value)) return `Tensor[${value.shape.join(",")}]${value.disposed ? " (disposed)" : ""} of runtime #${value.runtime.id}`;
  if (isRuntime(value)) return `Runtime #${value.id}`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (value === null || typeof value !== "object") return String(value);
  if (depth > 2) return "…";
  if (Array.isArray(value)) {
    const items = Array.from({ length: Math.min(value.length, 8) }, (_, i) => (i in value ? show(value[i], depth + 1) : "<hole>"));
    return `[${items.join(", ")}${value.length > 8 ? `, … (${value.length})` : ""}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${"length" in value ? (value as { length: number }).length : value.byteLength})`;
  if (value instanceof Error) return `${value.constructor.name}(${JSON.stringify(value.message)})`;
  const proto = Object.getPrototypeOf(value);
  const layerName = (value as { name?: unknown }).name;
  if (proto !== Object.prototype && proto !== null) return `a ${proto.constructor?.name ?? "?"}${typeof layerName === "string" ? ` ${layerName}` : ""}`;
  const keys = Reflect.ownKeys(value);
  return `{ ${keys.map((k) => `${String(k)}: ${show((value as Record<PropertyKey, unknown>)[k], depth + 1)}`).join(", ")} }`;
}

function showError(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${show(error)}`;
  const frames = (error.stack ?? "").split("\n").filter((line) => line.includes("/js/")).slice(0, 3).map((line) => line.trim());
  return `${error.constructor.name}: ${error.message}${frames.length ? ` [${frames.join(" ← ")}]` : ""}`;
}

// ---- Failures: collected (one per distinct function and error), reported together at the end of a phase.

const failures = new Map<string, string>();

function fail(world: World, name: string, args: unknown[] | null, what: string): void {
  const key = `${name} | ${what.replace(/\d+/g, "#").slice(0, 120)}`;
  if (failures.has(key) || failures.size >= 40) return;
  failures.set(key, `[${world.label}] ${name}(${args ? args.map((a) => show(a)).join(", ") : ""}): ${what}`);
}

function expectNoFailures(): void {
  const list = [...failures.values()];
  failures.clear();
  if (list.length) throw new Error(`fuzz failures (replay with FUZZ_SEED=${SEED}):\n  ${list.join("\n  ")}`);
}

// ---- One call, judged.

function bytes(world: World): string {
  return [world.rt, world.other].map((r) => r.memoryUsage().bytesInUse).join("/");
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

type Outcome = { threw: false; result: unknown } | { threw: true; error: unknown };

async function settle(run: () => unknown): Promise<Outcome> {
  try {
    let result = run();
    if (isThenable(result)) result = await result;
    return { threw: false, result };
  } catch (error) {
    return { threw: true, error };
  }
}

/** The live tensors among the arguments (and one level inside them), with their bits: no call may change them. */
function snapshot(args: unknown[]): [Tensor, Uint32Array][] {
  const found = new Set<Tensor>();
  const visit = (v: unknown, depth: number) => {
    if (isTensor(v)) {
      if (!v.disposed) found.add(v);
    } else if (depth < 2 && v !== null && typeof v === "object" && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) {
      for (const item of Object.values(v)) visit(item, depth + 1);
    }
  };
  for (const a of args) visit(a, 0);
  return [...found].map((t) => [t, new Uint32Array(t.toFloat32Array().buffer)]);
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Frees what a successful call made: new tensors (also inside arrays and plain objects), new layers and optimisers, new runtimes. */
function disposeResult(world: World, value: unknown, depth = 0): void {
  const api = world.api;
  if (depth > 4 || value === null || typeof value !== "object" || world.known.has(value)) return;
  if (isTensor(value)) value.dispose();
  else if (isRuntime(value)) value.terminate();
  // A Sequential holds no memory of its own until forward(), and its layers are pool layers: left alone.
  else if (value instanceof api.Sequential || value instanceof api.Residual) return;
  else if (
    value instanceof api.Optimizer || value instanceof api.Conv2d || value instanceof api.ConvTranspose2d || value instanceof api.Linear
    || value instanceof api.BatchNorm2d || value instanceof api.Dropout || value instanceof api.OnnxModel
  ) value.dispose();
  else if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) disposeResult(world, item, depth + 1);
  }
}

/**
 * What a constructor accepted must work: an optimiser's settings are finite numbers and step() and
 * zeroGrad() return or throw a ConvError; a Sequential's parameters() and zeroGrad() too.
 */
function followUp(world: World, name: string, args: unknown[], made: unknown): void {
  const { api } = world;
  const calls: [string, () => unknown][] = [];
  if (made instanceof api.Optimizer) {
    const o = made as unknown as Record<string, unknown>;
    const settings = made instanceof api.Adam
      ? [o.lr, o.eps, o.weightDecay, (o.betas as unknown[])[0], (o.betas as unknown[])[1]]
      : [o.lr, o.momentum, o.weightDecay];
    if (!settings.every((v) => typeof v === "number" && Number.isFinite(v))) fail(world, name, args, `accepted settings ${show(settings)}`);
    calls.push(["step", () => made.step()], ["zeroGrad", () => made.zeroGrad()]);
  }
  if (made instanceof api.Sequential) calls.push(["parameters", () => made.parameters()], ["zeroGrad", () => made.zeroGrad()]);
  for (const [method, run] of calls) {
    try {
      run();
    } catch (error) {
      if (!(error instanceof api.ConvError) || !CODES.has(error.code)) fail(world, `${name}, then ${method}()`, args, `threw ${showError(error)}`);
    }
  }
}

/** Checks an outcome against the oracle: a result (sane where its form is known), or a ConvError with a catalogued code. */
function judge(world: World, name: string, args: unknown[], outcome: Outcome): void {
  world.stats.calls++;
  if (outcome.threw) {
    const error = outcome.error;
    if (!(error instanceof world.api.ConvError) || !CODES.has(error.code)) {
      fail(world, name, args, `threw ${showError(error)}`);
      return;
    }
    world.stats.codes.set(error.code, (world.stats.codes.get(error.code) ?? 0) + 1);
    // An out-of-memory error must be about a real size, not one computed from a NaN that slipped through.
    if (error.code === ErrorCode.OUT_OF_MEMORY && /NaN|undefined/.test(error.message)) fail(world, name, args, `an ERR_OUT_OF_MEMORY from unchecked input: ${error.message}`);
    return;
  }
  world.stats.ok++;
  const result = outcome.result;
  if (name === "conv2dOutputShape" || name === "convTranspose2dOutputShape" || name === "maxPool2x2OutputShape") {
    const sane = Array.isArray(result) && result.length === 4 && result.every((d) => Number.isInteger(d) && d >= 1);
    if (!sane) fail(world, name, args, `returned ${show(result)}, not a shape of four positive integers`);
  }
  if (isTensor(result) && !world.known.has(result) && (result.disposed || !result.shape.every((d) => Number.isInteger(d) && d >= 1))) {
    fail(world, name, args, `returned ${show(result)}`);
  }
  followUp(world, name, args, result);
  disposeResult(world, result);
}

/** One call: judged, its result freed; then the same bytes in use as before and its tensor arguments' bits untouched. */
async function probe(world: World, spec: Spec, args: unknown[], leakCheck = true): Promise<void> {
  const before = bytes(world);
  const inputs = snapshot(args);
  const outcome = await settle(() => spec.call(args));
  // Before judge(): its follow-up calls (an optimiser's step()) may change the arguments legitimately.
  for (const [t, bits] of inputs) {
    if (!t.disposed && !sameBits(new Uint32Array(t.toFloat32Array().buffer), bits)) fail(world, spec.name, args, `changed its argument ${show(t)}`);
  }
  judge(world, spec.name, args, outcome);
  const after = bytes(world);
  if (leakCheck && after !== before) fail(world, spec.name, args, `bytesInUse went from ${before} to ${after}${outcome.threw ? ` (it threw ${showError(outcome.error)})` : ""}`);
}

// ---- Arguments: valid, random, or (mostly) valid with one thing wrong, the most revealing case.

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;
}

/** Values near the valid ones of a few options (holes included), besides the whole pool. */
const KEY_VALUES: Record<string, unknown[]> = {
  stride: STEP_VALUES, pad: STEP_VALUES, dilation: STEP_VALUES,
  betas: [[0.9, 0.999], [0.5, ,], [, 0.5], [1, 0.5], [0.9], [NaN, 0.9], [-0.1, 0.5], [0.9, 0.999, 0.5]],
  kernelSize: [[3], [1, ,], [, 3], [3, 3, 3], [0, 3], [2 ** 30, 1]],
  p: [0, 1, 0.5, 1.0000001, -1e-9, NaN],
  momentum: [0, 1, 1.5, -0.1, NaN],
  negativeSlope: [0, -1, 1e38, Infinity, NaN],
};

function optionValue(world: World, key: string): unknown {
  const { rng } = world;
  if (KEY_VALUES[key] && rng.chance(0.4)) return rng.pick(KEY_VALUES[key]!);
  return rng.pick(world.values);
}

function mutate(world: World, spec: Spec, args: unknown[]): unknown[] {
  const { rng } = world;
  const out = [...args];
  const objects = out.map((a, i) => (isPlainObject(a) ? i : -1)).filter((i) => i >= 0);
  const arrays = out.map((a, i) => (Array.isArray(a) && a.length <= 16 ? i : -1)).filter((i) => i >= 0);
  switch (rng.int(11)) {
    case 0: case 1: case 2: case 3:
      out[rng.int(out.length + 1)] = rng.pick(world.values);
      break;
    case 10: {
      // Inside an array argument (a shape, labels, data, parameters): one element wrong, a hole, one more or one less.
      if (arrays.length === 0) break;
      const i = rng.pick(arrays);
      const copy = [...(out[i] as unknown[])];
      const at = rng.int(copy.length + 1);
      const how = rng.int(4);
      if (how === 0) copy[at] = rng.pick(world.values);
      else if (how === 1) delete copy[Math.min(at, copy.length - 1)];
      else if (how === 2) copy.push(rng.pick(world.values));
      else copy.pop();
      out[i] = copy;
      break;
    }
    case 4: case 5: case 6: {
      const keys = [...(spec.keys ?? []), "bogus"];
      if (objects.length === 0) {
        const key = rng.pick(keys);
        out[rng.int(out.length + 1)] = { [key]: optionValue(world, key) };
        break;
      }
      const i = rng.pick(objects);
      const copy = { ...(out[i] as Record<string, unknown>) };
      const key = rng.chance(0.8) ? rng.pick(keys) : rng.pick(Object.keys(copy).concat("bogus"));
      if (rng.chance(0.15)) delete copy[key];
      else copy[key] = optionValue(world, key);
      out[i] = copy;
      break;
    }
    case 7:
      out.length = rng.int(out.length + 1);
      break;
    case 8: {
      const tensorAt = out.map((a, i) => (isTensor(a) ? i : -1)).filter((i) => i >= 0);
      out[tensorAt.length ? rng.pick(tensorAt) : rng.int(out.length + 1)] = rng.pick(world.tensors);
      break;
    }
    default:
      for (let n = 1 + rng.int(2); n > 0; n--) out.push(rng.pick(world.values));
  }
  return out;
}

function argsFor(world: World, spec: Spec): unknown[] {
  const { rng } = world;
  const r = rng.next();
  if (r < 0.15) return spec.valid();
  if (r < 0.35) return Array.from({ length: rng.int(6) }, () => rng.pick(world.values));
  let args = mutate(world, spec, spec.valid());
  if (rng.chance(0.15)) args = mutate(world, spec, args);
  return args;
}

function pickWeighted<T extends { weight?: number }>(rng: Rng, items: readonly T[]): T {
  const total = items.reduce((s, x) => s + (x.weight ?? 1), 0);
  let r = rng.next() * total;
  for (const item of items) {
    r -= item.weight ?? 1;
    if (r < 0) return item;
  }
  return items[items.length - 1]!;
}

// ---- The worlds: one per runtime under test, each with the other as the foreign one.

let moduleBytes: Uint8Array<ArrayBuffer>, compiledModule: WebAssembly.Module;
let worlds: Record<"single" | "pool", World>;
let references: Map<World, Uint32Array[]>;

const call = <F extends (...a: never[]) => unknown>(f: F): Call => (args) => (f as unknown as (...a: unknown[]) => unknown)(...args);
const construct = (C: unknown): Call => (args) => new (C as new (...a: unknown[]) => unknown)(...args);

function buildWorld(label: string, api: Api, defaults: World["defaults"], rt: Runtime, other: Runtime, seed: number): World {
  const rng = new Rng(seed);
  const known = new WeakSet<object>();
  const mk = (shape: number[], data?: Float32Array) => {
    const t = api.tensor(data ?? rng.data(shape.reduce((a, b) => a * b, 1)), shape, rt);
    known.add(t);
    return t;
  };
  const t = {
    x: mk([2, 3, 6, 6]), w: mk([4, 3, 3, 3]), b: mk([4]), dy: mk([2, 4, 4, 4]),
    dyStrided: mk(api.conv2dOutputShape([2, 3, 6, 6], [4, 3, 3, 3], { stride: 2, pad: 1 })),
    dyDilated: mk(api.conv2dOutputShape([2, 3, 6, 6], [4, 3, 3, 3], { dilation: 2, pad: [2, 1] })),
    xg: mk([1, 4, 5, 5]), wg: mk([4, 2, 3, 3]), dyg: mk([1, 4, 5, 5]),
    // Big enough (2·10^6 FLOPs) that a pool runtime really runs it on its threads.
    xb: mk([1, 8, 32, 32]), wb: mk([16, 8, 3, 3]), bb: mk([16]), dyb: mk([1, 16, 30, 30]),
    lx: mk([3, 5]), lw: mk([4, 5]), lb: mk([4]), ldy: mk([3, 4]),
    // Transposed convolutions run the conv problems backwards: x is a conv's dy-shaped tensor, y has x's shape.
    b3: mk([3]), b8: mk([8]), wt: mk([4, 2, 3, 3]),
    pooled: mk([2, 3, 3, 3]), odd: mk([2, 3, 7, 5]), oddPooled: mk([2, 3, 3, 2]), flat: mk([2, 108]),
    logits: mk([3, 4]), seqDy: mk([2, 3]), scalar: mk([]), vector: mk([7]), rank5: mk([1, 2, 3, 2, 2]),
    special: mk([4], Float32Array.of(NaN, Infinity, -Infinity, -0)),
    gap: mk([2, 3, 1, 1]),
  };
  const randomShaped = Array.from({ length: 8 }, () => mk(Array.from({ length: rng.int(6) }, () => 1 + rng.int(4))));
  // Tensors of the world's other runtime, shaped like the valid arguments: swapped in, they must give ERR_FOREIGN_TENSOR.
  const foreign = [[2, 3, 6, 6], [4, 3, 3, 3], [4], [3, 5], [4, 5], [2, 4, 4, 4], [3, 4]].map((shape) => {
    const f = api.tensor(rng.data(shape.reduce((a, b) => a * b, 1)), shape, other);
    known.add(f);
    return f;
  });
  const disposed = api.tensor([1, 2], [2], rt);
  disposed.dispose();
  known.add(disposed);
  const tensors = [...Object.values(t), ...randomShaped, ...foreign, disposed];
  const conv = new api.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, runtime: rt, seed: 1 });
  const lin = new api.Linear({ inFeatures: 5, outFeatures: 4, runtime: rt, seed: 2 });
  const layers = [conv, lin, new api.ReLU(), new api.MaxPool2x2(), new api.Flatten(), identityLayer()];
  const onnxBytes = api.exportOnnx(conv, { inputShape: [2, 3, 6, 6] });
  for (const layer of layers) known.add(layer);
  for (const p of [...conv.parameters(), ...lin.parameters()]) known.add(p.value).add(p.grad);
  const sparseParameters = [...lin.parameters()];
  sparseParameters.length = 3;
  const scopeFns = [
    () => api.zeros([2, 2], rt),
    () => { api.zeros([3], rt); return 7; },
    () => [api.zeros([1], rt), { t: api.zeros([2], rt) }],
    () => { api.zeros([3], rt); return api.relu(null as never); },
    async () => api.zeros([2], rt),
    () => api.scope(() => api.zeros([2], rt)),
    () => api.keep(api.zeros([2], rt)),
  ];
  const values = [
    ...genericValues(), ...tensors, ...tensors.slice(0, 6), ...scopeFns, ...layers, rt, other,
    lin.parameters(), conv.parameters(), sparseParameters, [{ value: t.lw, grad: t.lx }], [{ value: t.lw }], [{}], [null], [{ value: t.lw, grad: t.lw }],
    [layers[2], , layers[3]], [conv, layers[2]], [identityLayer()],
  ];

  const world: World = {
    label, api, defaults, rt, other, rng, values, tensors, known, specs: [], asyncSpecs: [], sessions: [],
    stats: { calls: 0, ok: 0, codes: new Map() },
  };

  const maybe = <T>(v: T) => (rng.chance(0.5) ? v : undefined);
  const convProblems = [
    { x: t.x, w: t.w, b: t.b, dy: t.dy, options: () => ({}) },
    { x: t.x, w: t.w, b: t.b, dy: t.dyStrided, options: () => ({ stride: 2, pad: 1 }) },
    { x: t.x, w: t.w, b: t.b, dy: t.dyDilated, options: () => ({ dilation: 2, pad: [2, 1] }) },
    { x: t.xg, w: t.wg, b: t.b, dy: t.dyg, options: () => ({ groups: 2, pad: "same" }) },
    { x: t.xb, w: t.wb, b: t.bb, dy: t.dyb, options: () => ({ stride: 1, pad: 0, dilation: 1, groups: 1 }) },
  ];
  const problem = () => rng.pick(convProblems);
  const transposedProblems = [
    { x: t.dy, w: t.w, b: t.b3, dy: t.x, options: () => ({}) },
    { x: t.dyStrided, w: t.w, b: t.b3, dy: t.x, options: () => ({ stride: 2, pad: 1, outputPadding: 1 }) },
    { x: t.dyg, w: t.wt, b: t.b, dy: t.xg, options: () => ({ groups: 2, pad: 1 }) },
    { x: t.dyb, w: t.wb, b: t.b8, dy: t.xb, options: () => rng.pick([{}, { pad: { top: 0, bottom: 0, left: 0, right: 0 } }]) },
  ];
  const transposed = () => rng.pick(transposedProblems);
  const which = () => rng.pick([undefined, {}, { dx: false }, { dw: true, db: false }, { dx: true, dw: false, db: true }]);
  const live = () => rng.pick(tensors.filter((x) => !x.disposed));
  const labels = () => rng.pick<unknown>([Int32Array.of(0, 3, 1), [1, 2, 0], Uint8Array.of(3, 3, 3)]);
  const layersFor = () => rng.pick([[layers[2], layers[5]], [conv, layers[2]], [layers[2]]]);
  const sgdOptions = () => rng.pick([{ lr: 0.1 }, { lr: 0.1, momentum: 0.9 }, { lr: 0, momentum: 0, weightDecay: 0.01 }]);
  // Poolings of x [2, 3, 6, 6] with the dy their output shape takes.
  const maxPools = [
    { options: () => ({ kernelSize: 2 }), dy: t.pooled }, { options: () => ({ kernelSize: 3, stride: 2, pad: 1 }), dy: t.pooled },
    { options: () => ({ kernelSize: [3, 3], stride: 1, pad: 1, dilation: 1, ceilMode: rng.chance(0.5) }), dy: t.x },
  ];
  const avgPools = [
    { options: () => ({ kernelSize: 2 }), dy: t.pooled },
    { options: () => ({ kernelSize: 3, stride: 1, pad: 1, countIncludePad: rng.chance(0.5), ceilMode: rng.chance(0.5) }), dy: t.x },
  ];
  const adaptive = () => rng.pick([{ size: [3, 3], dy: t.pooled }, { size: 1, dy: t.gap }, { size: [1, 1], dy: t.gap }]);
  const slope = () => rng.pick([undefined, 0.01, 0.2, -1, 0]);
  const adamOptions = () => rng.pick([undefined, {}, { lr: 0.01, betas: [0.9, 0.99] }, { eps: 1e-6, weightDecay: 0.1 }]);

  world.specs = [
    { name: "tensor", export: "tensor", call: call(api.tensor), valid: () => { const s = live(); return [rng.chance(0.5) ? rng.data(s.size) : Array.from(rng.data(s.size)), [...s.shape], maybe(rt)]; } },
    { name: "zeros", export: "zeros", call: call(api.zeros), valid: () => [[...live().shape], maybe(rt)] },
    { name: "memoryUsage", export: "memoryUsage", call: call(api.memoryUsage), valid: () => [maybe(rt)], weight: 0.3 },
    { name: "hasRelaxedSimd", export: "hasRelaxedSimd", call: call(api.hasRelaxedSimd), valid: () => [], weight: 0.2 },
    { name: "Runtime#memoryUsage", export: "Runtime", call: (args) => rt.memoryUsage(...(args as [])), valid: () => [], weight: 0.2 },
    { name: "scope", export: "scope", call: call(api.scope), valid: () => [rng.pick(scopeFns)] },
    { name: "keep", export: "keep", call: call(api.keep), valid: () => [live()], weight: 0.5 },
    { name: "conv2d", export: "conv2d", call: call(api.conv2d), keys: CONV_KEYS, weight: 3, valid: () => { const p = problem(); return [p.x, p.w, rng.pick([p.b, null, undefined]), p.options()]; } },
    {
      name: "conv2dBackward", export: "conv2dBackward", call: call(api.conv2dBackward), keys: [...CONV_KEYS, "dx", "dw", "db"], weight: 3,
      valid: () => { const p = problem(); return [p.dy, p.x, p.w, p.options(), which()]; },
    },
    { name: "conv2dOutputShape", export: "conv2dOutputShape", call: call(api.conv2dOutputShape), keys: CONV_KEYS, weight: 2, valid: () => { const p = problem(); return [[...p.x.shape], [...p.w.shape], p.options()]; } },
    {
      name: "gradcheckConv2d", export: "gradcheckConv2d", call: call(api.gradcheckConv2d), keys: GRADCHECK_KEYS, weight: 0.4,
      valid: () => [{ batch: 1, inChannels: 2, outChannels: 2, height: 4, width: 4, kernelSize: 2, seed: rng.int(100), runtime: rt, ...rng.pick([{}, { stride: 2 }, { pad: 1, bias: false }, { groups: 2 }]) }],
    },
    {
      name: "convTranspose2d", export: "convTranspose2d", call: call(api.convTranspose2d), keys: TRANSPOSE_KEYS, weight: 2,
      valid: () => { const p = transposed(); return [p.x, p.w, rng.pick([p.b, null, undefined]), p.options()]; },
    },
    {
      name: "convTranspose2dBackward", export: "convTranspose2dBackward", call: call(api.convTranspose2dBackward), keys: [...TRANSPOSE_KEYS, "dx", "dw", "db"],
      weight: 2, valid: () => { const p = transposed(); return [p.dy, p.x, p.w, p.options(), which()]; },
    },
    {
      name: "convTranspose2dOutputShape", export: "convTranspose2dOutputShape", call: call(api.convTranspose2dOutputShape), keys: TRANSPOSE_KEYS, weight: 1,
      valid: () => { const p = transposed(); return [[...p.x.shape], [...p.w.shape], p.options()]; },
    },
    {
      name: "new ConvTranspose2d", export: "ConvTranspose2d", call: construct(api.ConvTranspose2d), keys: ["inChannels", "outChannels", "kernelSize", ...TRANSPOSE_KEYS, "bias", "seed", "runtime"],
      valid: () => [{ inChannels: 4, outChannels: 2, kernelSize: rng.pick<unknown>([3, [2, 3]]), runtime: rt, ...rng.pick([{}, { stride: 2, outputPadding: 1 }, { groups: 2, bias: false }]) }],
    },
    { name: "relError", export: "relError", call: call(api.relError), weight: 0.5, valid: () => { const n = 1 + rng.int(5); return [rng.data(n), rng.chance(0.5) ? rng.data(n) : Array.from(rng.data(n))]; } },
    { name: "linear", export: "linear", call: call(api.linear), weight: 2, valid: () => [t.lx, t.lw, rng.pick([t.lb, null, undefined])] },
    { name: "linearBackward", export: "linearBackward", call: call(api.linearBackward), keys: ["dx", "dw", "db"], weight: 2, valid: () => [t.ldy, t.lx, t.lw, which()] },
    { name: "relu", export: "relu", call: call(api.relu), valid: () => [live()] },
    { name: "reluBackward", export: "reluBackward", call: call(api.reluBackward), valid: () => { const s = live(); return [s, s]; } },
    { name: "maxPool2x2", export: "maxPool2x2", call: call(api.maxPool2x2), valid: () => [rng.pick([t.x, t.odd, t.xb])] },
    { name: "maxPool2x2Backward", export: "maxPool2x2Backward", call: call(api.maxPool2x2Backward), valid: () => (rng.chance(0.5) ? [t.pooled, t.x] : [t.oddPooled, t.odd]) },
    { name: "maxPool2x2OutputShape", export: "maxPool2x2OutputShape", call: call(api.maxPool2x2OutputShape), valid: () => [[...rng.pick([t.x, t.odd]).shape]] },
    { name: "sigmoid", export: "sigmoid", call: call(api.sigmoid), valid: () => [live()] },
    { name: "sigmoidBackward", export: "sigmoidBackward", call: call(api.sigmoidBackward), valid: () => { const s = live(); return [s, s]; } },
    { name: "tanh", export: "tanh", call: call(api.tanh), valid: () => [live()] },
    { name: "tanhBackward", export: "tanhBackward", call: call(api.tanhBackward), valid: () => { const s = live(); return [s, s]; } },
    { name: "leakyRelu", export: "leakyRelu", call: call(api.leakyRelu), valid: () => [live(), slope()] },
    { name: "leakyReluBackward", export: "leakyReluBackward", call: call(api.leakyReluBackward), valid: () => { const s = live(); return [s, s, slope()]; } },
    { name: "mseLoss", export: "mseLoss", call: call(api.mseLoss), keys: ["grad"], valid: () => { const s = live(); return [s, s, rng.pick([undefined, { grad: false }, { grad: true }])]; } },
    { name: "maxPool2d", export: "maxPool2d", call: call(api.maxPool2d), keys: MAX_POOL_KEYS, weight: 2, valid: () => [rng.pick([t.x, t.odd, t.xb]), rng.pick(maxPools).options()] },
    {
      name: "maxPool2dBackward", export: "maxPool2dBackward", call: call(api.maxPool2dBackward), keys: MAX_POOL_KEYS, weight: 2,
      valid: () => { const p = rng.pick(maxPools); return [p.dy, t.x, p.options()]; },
    },
    { name: "avgPool2d", export: "avgPool2d", call: call(api.avgPool2d), keys: AVG_POOL_KEYS, weight: 2, valid: () => [rng.pick([t.x, t.odd, t.xb]), rng.pick(avgPools).options()] },
    {
      name: "avgPool2dBackward", export: "avgPool2dBackward", call: call(api.avgPool2dBackward), keys: AVG_POOL_KEYS, weight: 2,
      valid: () => { const p = rng.pick(avgPools); return [p.dy, t.x, p.options()]; },
    },
    { name: "adaptiveAvgPool2d", export: "adaptiveAvgPool2d", call: call(api.adaptiveAvgPool2d), valid: () => [rng.pick([t.x, t.odd, t.xb]), adaptive().size] },
    {
      name: "adaptiveAvgPool2dBackward", export: "adaptiveAvgPool2dBackward", call: call(api.adaptiveAvgPool2dBackward),
      valid: () => { const p = adaptive(); return [p.dy, t.x, p.size]; },
    },
    { name: "reshape", export: "reshape", call: call(api.reshape), valid: () => { const s = live(); return [s, rng.pick([[s.size], [1, s.size], [s.size, 1, 1]])]; } },
    { name: "softmaxCrossEntropy", export: "softmaxCrossEntropy", call: call(api.softmaxCrossEntropy), keys: ["grad"], valid: () => [t.logits, labels(), rng.pick([undefined, { grad: false }, { grad: true }])] },
    {
      name: "exportOnnx", export: "exportOnnx", call: call(api.exportOnnx), keys: ["inputShape", "opset", "dynamicBatch", "inputName", "outputName"],
      valid: () => rng.pick<unknown[]>([[conv, { inputShape: [2, 3, 6, 6] }], [lin, { inputShape: [2, 5], opset: 13, dynamicBatch: false }]]),
    },
    {
      name: "importOnnx", export: "importOnnx", call: call(api.importOnnx), keys: ["runtime", "foldBatchNorm"],
      valid: () => [onnxBytes, rng.pick([undefined, {}, { foldBatchNorm: true }, { runtime: rt }])],
    },
    {
      name: "saveSafetensors", export: "saveSafetensors", call: call(api.saveSafetensors), keys: ["metadata"],
      valid: () => [rng.chance(0.5) ? rng.pick(layers) : { a: live(), "b.num_batches_tracked": { shape: [], data: new BigInt64Array([3n]) } }, rng.pick([undefined, {}, { metadata: { format: "pt" } }])],
    },
    {
      name: "loadSafetensors", export: "loadSafetensors", call: call(api.loadSafetensors), keys: ["toFloat32"],
      valid: () => [api.saveSafetensors({ a: live() }), rng.pick([undefined, {}, { toFloat32: true }])],
    },
    { name: "countCorrect", export: "countCorrect", call: call(api.countCorrect), valid: () => [t.logits, labels()] },
    {
      name: "new Conv2d", export: "Conv2d", call: construct(api.Conv2d), keys: ["inChannels", "outChannels", "kernelSize", ...CONV_KEYS, "bias", "seed", "runtime"],
      valid: () => [{ inChannels: 4, outChannels: 4, kernelSize: rng.pick<unknown>([3, [1, 3]]), runtime: rt, ...rng.pick([{}, { groups: 2, pad: "same" }, { stride: 2, bias: false, seed: 9 }]) }],
    },
    { name: "new Linear", export: "Linear", call: construct(api.Linear), keys: ["inFeatures", "outFeatures", "bias", "seed", "runtime"], valid: () => [{ inFeatures: 5, outFeatures: 4, runtime: rt, ...maybe({ bias: false, seed: 3 }) }] },
    { name: "new ReLU", export: "ReLU", call: construct(api.ReLU), valid: () => [], weight: 0.2 },
    { name: "new MaxPool2x2", export: "MaxPool2x2", call: construct(api.MaxPool2x2), valid: () => [], weight: 0.2 },
    { name: "new Sigmoid", export: "Sigmoid", call: construct(api.Sigmoid), valid: () => [], weight: 0.2 },
    { name: "new Tanh", export: "Tanh", call: construct(api.Tanh), valid: () => [], weight: 0.2 },
    { name: "new LeakyReLU", export: "LeakyReLU", call: construct(api.LeakyReLU), keys: ["negativeSlope"], valid: () => [rng.pick([undefined, {}, { negativeSlope: 0.1 }])], weight: 0.5 },
    { name: "new Dropout", export: "Dropout", call: construct(api.Dropout), keys: ["p", "seed"], valid: () => [rng.pick([undefined, {}, { p: 0.2 }, { p: 0.5, seed: 3 }])], weight: 0.5 },
    { name: "new MaxPool2d", export: "MaxPool2d", call: construct(api.MaxPool2d), keys: MAX_POOL_KEYS, valid: () => [rng.pick(maxPools).options()], weight: 0.5 },
    { name: "new AvgPool2d", export: "AvgPool2d", call: construct(api.AvgPool2d), keys: AVG_POOL_KEYS, valid: () => [rng.pick(avgPools).options()], weight: 0.5 },
    { name: "new AdaptiveAvgPool2d", export: "AdaptiveAvgPool2d", call: construct(api.AdaptiveAvgPool2d), valid: () => [adaptive().size], weight: 0.5 },
    {
      name: "new BatchNorm2d", export: "BatchNorm2d", call: construct(api.BatchNorm2d), keys: BATCH_NORM_KEYS,
      valid: () => [{ numFeatures: 3, runtime: rt, ...rng.pick([{}, { affine: false }, { trackRunningStats: false, eps: 1e-3 }, { momentum: 0.5 }]) }],
    },
    { name: "new Residual", export: "Residual", call: construct(api.Residual), valid: () => [rng.pick(layers), rng.pick([undefined, null, layers[2], layers[5]])] },
    { name: "new Flatten", export: "Flatten", call: construct(api.Flatten), valid: () => [], weight: 0.2 },
    { name: "new Sequential", export: "Sequential", call: construct(api.Sequential), valid: () => [layersFor()] },
    { name: "new SGD", export: "SGD", call: construct(api.SGD), keys: ["lr", "momentum", "weightDecay"], valid: () => [rng.pick([lin, conv]).parameters(), sgdOptions()] },
    { name: "new Adam", export: "Adam", call: construct(api.Adam), keys: ["lr", "betas", "eps", "weightDecay"], valid: () => [rng.pick([lin, conv]).parameters(), adamOptions()] },
  ];

  world.asyncSpecs = [
    { name: "conv2dAsync", export: "conv2dAsync", call: call(api.conv2dAsync), keys: CONV_KEYS, weight: 3, valid: () => { const p = problem(); return [p.x, p.w, rng.pick([p.b, null, undefined]), p.options()]; } },
    {
      name: "conv2dBackwardAsync", export: "conv2dBackwardAsync", call: call(api.conv2dBackwardAsync), keys: [...CONV_KEYS, "dx", "dw", "db"], weight: 3,
      valid: () => { const p = problem(); return [p.dy, p.x, p.w, p.options(), which()]; },
    },
    {
      name: "convTranspose2dAsync", export: "convTranspose2dAsync", call: call(api.convTranspose2dAsync), keys: TRANSPOSE_KEYS, weight: 2,
      valid: () => { const p = transposed(); return [p.x, p.w, rng.pick([p.b, null, undefined]), p.options()]; },
    },
    {
      name: "convTranspose2dBackwardAsync", export: "convTranspose2dBackwardAsync", call: call(api.convTranspose2dBackwardAsync),
      keys: [...TRANSPOSE_KEYS, "dx", "dw", "db"], weight: 2, valid: () => { const p = transposed(); return [p.dy, p.x, p.w, p.options(), which()]; },
    },
    // init() with other valid options makes a new default runtime by design; those calls go to createRuntime (see initCall).
    { name: "init", export: "init", call: (args) => initCall(world, args), keys: INIT_KEYS, weight: 1.5, valid: () => [rng.pick([undefined, {}, { simd: "auto" }, { threads: 1 }, { simd: "auto", threads: 1 }])] },
    {
      name: "createRuntime", export: "createRuntime", call: call(api.createRuntime), keys: INIT_KEYS, weight: 0.5,
      valid: () => [rng.pick<unknown>([undefined, {}, { simd: "fixed" }, { wasm: compiledModule }, { wasm: moduleBytes, simd: "fixed" }, { threads: 2 }])],
    },
    {
      // Each registration is undone at once: tfjs's registry is global, and the next call would replace it anyway.
      name: "registerTfjsKernels", export: "registerTfjsKernels", keys: ["backends", "threads", "simd", "forward"], weight: 0.5,
      call: async (args) => {
        const registration = await (api.registerTfjsKernels as (...a: unknown[]) => Promise<{ unregister(): void }>)(...args);
        registration.unregister();
        return registration;
      },
      valid: () => [tf, rng.pick<unknown>([undefined, {}, { backends: ["cpu"] }, { forward: "keep" }, { forward: "replace", simd: "fixed" }])],
    },
  ];

  world.sessions = layerSessions(world, t, rng, tensors);
  return world;
}

/** init(options) where they cannot replace the default runtime, else createRuntime(options); then init() must still be the default. */
async function initCall(world: World, args: unknown[]): Promise<unknown> {
  const { api, rt } = world;
  if (wouldMakeNewDefault(args[0], world.defaults)) return api.createRuntime(...(args as [never]));
  try {
    const made = await api.init(...(args as [never]));
    if (made !== rt) fail(world, "init", args, `returned ${show(made)}, not the default runtime #${rt.id}`);
    return made;
  } finally {
    const again = await api.init();
    if (again !== rt) fail(world, "init", args, `afterwards init() returns ${show(again)}, no longer the default runtime #${rt.id}`);
  }
}

/** Whether init(options) would succeed with options other than the default's (and so, by design, make a new default). */
function wouldMakeNewDefault(options: unknown, defaults: World["defaults"]): boolean {
  if (options === null || typeof options !== "object" || Array.isArray(options)) return false;
  const keys = Object.keys(options);
  if (keys.length === 0 || keys.some((k) => !INIT_KEYS.includes(k))) return false;
  const o = options as { simd?: unknown; threads?: unknown; wasm?: unknown };
  const simd = o.simd ?? "auto", threads = o.threads ?? 1;
  if (simd === defaults.simd && threads === defaults.threads && o.wasm === undefined) return false;
  const simdOk = simd === "auto" || simd === "fixed" || simd === "relaxed";
  const threadsOk = o.threads === undefined || threads === "auto" || (typeof threads === "number" && Number.isInteger(threads) && threads >= 1 && threads <= 256);
  const wasmOk = o.wasm === undefined || o.wasm === null || o.wasm === compiledModule || o.wasm === moduleBytes;
  return simdOk && threadsOk && wasmOk;
}

type Named = Record<string, Tensor>;

/** Receivers built validly, whose methods are then fuzzed: a tensor, each layer, a Sequential, SGD and Adam. */
function layerSessions(world: World, t: Named, rng: Rng, tensors: Tensor[]): Session[] {
  const { api, rt } = world;
  const layerMethods = (name: string, layer: Layer, x: () => Tensor, dy: () => Tensor, extra: Spec[] = []): Spec[] => [
    { name: `${name}#forward`, export: name, call: (a) => layer.forward(...(a as [Tensor])), valid: () => [x()], weight: 3 },
    { name: `${name}#backward`, export: name, call: (a) => layer.backward(...(a as [Tensor])), keys: ["inputGrad"], valid: () => [dy(), rng.pick([undefined, { inputGrad: false }, { inputGrad: true }])], weight: 3 },
    { name: `${name}#parameters`, export: name, call: () => layer.parameters(), valid: () => [], weight: 0.5 },
    { name: `${name}#zeroGrad`, export: name, call: (a) => (layer.zeroGrad as (...x: unknown[]) => void)(...a), valid: () => [], weight: 0.5 },
    { name: `${name}#dispose`, export: name, call: () => layer.dispose(), valid: () => [], weight: 0.3, frees: true },
    { name: `${name}#name`, export: name, call: () => String((layer as { name?: unknown }).name), valid: () => [], weight: 0.2 },
    { name: `${name}#stateDict`, export: name, call: () => layer.stateDict!(), valid: () => [], weight: 0.3 },
    {
      name: `${name}#loadStateDict`, export: name, call: (a) => (layer.loadStateDict as (...x: unknown[]) => unknown)(...a), keys: ["strict"], weight: 0.5,
      // Its own values, as tensors or as plain { shape, data }: valid, and the layer is the same after.
      valid: () => [rng.chance(0.5) || Object.values(layer.stateDict!()).some((v) => v.disposed) ? layer.stateDict!() : Object.fromEntries(Object.entries(layer.stateDict!()).map(([k, v]) => [k, { shape: v.shape, data: v.toFloat32Array() }])),
        rng.pick([undefined, { strict: true }, { strict: false }])],
    },
    ...(typeof layer.train === "function" ? [
      { name: `${name}#train`, export: name, call: (a: unknown[]) => (layer.train as (...x: unknown[]) => unknown)(...a), valid: () => [rng.pick([undefined, true, false])], weight: 0.5 },
      { name: `${name}#eval`, export: name, call: (a: unknown[]) => (layer.eval as (...x: unknown[]) => unknown)(...a), valid: () => [], weight: 0.3 },
    ] : []),
    ...extra,
  ];
  const layerSession = (name: string, make: () => Layer, x: () => Tensor, dy: () => Tensor, weight = 1, holdsActivations = false): Session => ({
    name, export: name, weight,
    setup: () => {
      const layer = make();
      const extra: Spec[] = layer instanceof api.Conv2d || layer instanceof api.ConvTranspose2d ? [
        { name: `${name}#forwardAsync`, export: name, call: (a) => layer.forwardAsync(...(a as [Tensor])), valid: () => [x()], weight: 2 },
        { name: `${name}#backwardAsync`, export: name, call: (a) => layer.backwardAsync(...(a as [Tensor])), keys: ["inputGrad"], valid: () => [dy(), rng.pick([undefined, { inputGrad: false }])], weight: 2 },
      ] : [];
      const known = [layer, ...layer.parameters().flatMap((p) => [p.value, p.grad]), ...Object.values(layer.stateDict?.() ?? {})];
      return { methods: layerMethods(name, layer, x, dy, extra), teardown: () => layer.dispose(), known, holdsActivations };
    },
  });
  const optimizerSession = (name: "SGD" | "Adam"): Session => ({
    name, export: name,
    setup: () => {
      const layer = new api.Linear({ inFeatures: 5, outFeatures: 4, runtime: rt, seed: 4 });
      // Gradients to step with.
      api.scope(() => {
        layer.forward(t.lx!);
        layer.backward(t.ldy!);
      });
      const opt = name === "SGD" ? new api.SGD(layer.parameters(), { lr: 0.1, momentum: 0.5 }) : new api.Adam(layer.parameters(), { lr: 0.01 });
      const methods: Spec[] = [
        { name: `${name}#step`, export: name, call: (a) => (opt.step as (...x: unknown[]) => void)(...a), valid: () => [], weight: 3 },
        { name: `${name}#zeroGrad`, export: name, call: () => opt.zeroGrad(), valid: () => [] },
        { name: `${name}#lr=`, export: name, call: (a) => { opt.lr = a[0] as number; return opt.lr; }, valid: () => [rng.pick([0, 0.01, 1])], weight: 2 },
        { name: `${name}#dispose`, export: name, call: () => opt.dispose(), valid: () => [], weight: 0.3, frees: true },
      ];
      return { methods, teardown: () => { opt.dispose(); layer.dispose(); }, known: [opt, layer, ...layer.parameters().flatMap((p) => [p.value, p.grad])] };
    },
  });
  const tensorSession: Session = {
    name: "Tensor", export: "Tensor", weight: 1.5,
    setup: () => {
      const source = rng.pick(tensors.filter((x) => !x.disposed));
      const own = api.tensor(source.toFloat32Array(), source.shape, rt);
      const methods: Spec[] = [
        { name: "Tensor#toFloat32Array", export: "Tensor", call: (a) => (own.toFloat32Array as (...x: unknown[]) => unknown)(...a), valid: () => [] },
        { name: "Tensor#write", export: "Tensor", call: (a) => own.write(...(a as [Float32Array])), valid: () => [rng.chance(0.5) ? rng.data(own.size) : Array.from(rng.data(own.size))], weight: 3 },
        { name: "Tensor#dispose", export: "Tensor", call: () => own.dispose(), valid: () => [], weight: 0.5, frees: true },
        { name: "Tensor#[Symbol.dispose]", export: "Tensor", call: () => own[Symbol.dispose](), valid: () => [], weight: 0.2, frees: true },
        { name: "Tensor#[Symbol.toPrimitive]", export: "Tensor", call: (a) => `${own}${+own}${(own[Symbol.toPrimitive] as (...x: unknown[]) => unknown)(...a)}`, valid: () => [rng.pick(["number", "string", "default"])], weight: 0.3 },
      ];
      return { methods, teardown: () => own.dispose(), known: [own] };
    },
  };
  const conv = (extra: object) => () => new api.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, runtime: rt, seed: rng.int(9), ...extra });
  return [
    tensorSession,
    layerSession("Conv2d", conv({}), () => t.x!, () => t.dy!, 2),
    layerSession("Conv2d", conv({ stride: 2, pad: 1 }), () => t.x!, () => t.dyStrided!),
    layerSession("Conv2d", () => new api.Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 2, pad: "same", runtime: rt }), () => t.xg!, () => t.dyg!),
    layerSession("Conv2d", () => new api.Conv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, runtime: rt }), () => t.xb!, () => t.dyb!),
    layerSession("ConvTranspose2d", () => new api.ConvTranspose2d({ inChannels: 4, outChannels: 3, kernelSize: 3, runtime: rt }), () => t.dy!, () => t.x!),
    // An imported graph (a Conv2d exported and imported back) keeps its activations between calls, as Sequential does.
    layerSession("OnnxModel", () => {
      const inner = new api.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, runtime: rt, seed: rng.int(9) });
      try {
        return api.importOnnx(api.exportOnnx(inner, { inputShape: [2, 3, 6, 6] }), { runtime: rt });
      } finally {
        inner.dispose();
      }
    }, () => t.x!, () => t.dy!, 1, true),
    layerSession("ConvTranspose2d", () => new api.ConvTranspose2d({ inChannels: 4, outChannels: 3, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, runtime: rt }),
      () => t.dyStrided!, () => t.x!),
    layerSession("Linear", () => new api.Linear({ inFeatures: 5, outFeatures: 4, runtime: rt }), () => t.lx!, () => t.ldy!),
    layerSession("ReLU", () => new api.ReLU(), () => t.odd!, () => t.odd!, 0.5),
    layerSession("MaxPool2x2", () => new api.MaxPool2x2(), () => t.x!, () => t.pooled!, 0.5),
    layerSession("Flatten", () => new api.Flatten(), () => t.x!, () => t.flat!, 0.5),
    layerSession("Sigmoid", () => new api.Sigmoid(), () => t.odd!, () => t.odd!, 0.3),
    layerSession("Tanh", () => new api.Tanh(), () => t.odd!, () => t.odd!, 0.3),
    layerSession("LeakyReLU", () => new api.LeakyReLU({ negativeSlope: 0.1 }), () => t.odd!, () => t.odd!, 0.3),
    layerSession("MaxPool2d", () => new api.MaxPool2d({ kernelSize: 3, stride: 2, pad: 1 }), () => t.x!, () => t.pooled!, 0.5),
    layerSession("AvgPool2d", () => new api.AvgPool2d({ kernelSize: 3, stride: 1, pad: 1, countIncludePad: false }), () => t.x!, () => t.x!, 0.5),
    layerSession("AdaptiveAvgPool2d", () => new api.AdaptiveAvgPool2d([3, 3]), () => t.x!, () => t.pooled!, 0.5),
    layerSession("BatchNorm2d", () => new api.BatchNorm2d({ numFeatures: 3, runtime: rt }), () => t.x!, () => t.x!),
    // Dropout keeps its mask between calls (freed by dispose), as Sequential keeps its activations.
    layerSession("Dropout", () => new api.Dropout({ p: 0.5, seed: rng.int(9) }), () => t.x!, () => t.x!, 0.5, true),
    layerSession("Residual", () => new api.Residual(
      new api.Sequential([new api.Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 3, pad: 1, runtime: rt }), new api.BatchNorm2d({ numFeatures: 3, runtime: rt }), new api.ReLU()]),
      rng.chance(0.5) ? new api.Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 1, runtime: rt }) : undefined,
    ), () => t.x!, () => t.x!, 1, true),
    layerSession("Sequential", () => new api.Sequential([
      new api.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, runtime: rt }), new api.ReLU(), new api.MaxPool2x2(), new api.Flatten(),
      identityLayer(), new api.Linear({ inFeatures: 16, outFeatures: 3, runtime: rt }),
    ]), () => t.x!, () => t.seqDy!, 1.5, true),
    optimizerSession("SGD"),
    optimizerSession("Adam"),
  ];
}

/** A session: receiver built, 1–6 fuzzed method calls (each judged), teardown; then exactly the bytes in use before it. */
async function runSession(world: World, session: Session, async: boolean): Promise<void> {
  const before = bytes(world);
  const receiver = session.setup();
  for (const k of receiver.known) world.known.add(k);
  const methods = async ? receiver.methods : receiver.methods.filter((m) => !m.name.endsWith("Async"));
  const steps = 1 + world.rng.int(6);
  for (let i = 0; i < steps; i++) {
    const spec = pickWeighted(world.rng, methods);
    await probe(world, spec, argsFor(world, spec), !receiver.holdsActivations && !spec.frees);
  }
  receiver.teardown();
  const after = bytes(world);
  if (after !== before) fail(world, `${session.name} session`, null, `bytesInUse went from ${before} to ${after} once the receiver was disposed`);
}

/** Async calls issued together, inputs sometimes fresh copies disposed at once (pinned until the call ends); all judged once settled. */
async function concurrentBatch(world: World): Promise<void> {
  const { rng, api } = world;
  const before = bytes(world);
  const conv = world.asyncSpecs.filter((s) => s.name.startsWith("conv2d"));
  const calls = Array.from({ length: 2 + rng.int(3) }, () => {
    const spec = rng.pick(conv);
    const args = argsFor(world, spec);
    const copies: Tensor[] = [];
    if (rng.chance(0.5)) {
      args.forEach((a, i) => {
        if (isTensor(a) && !a.disposed && a.runtime === world.rt) copies.push((args[i] = api.tensor(a.toFloat32Array(), a.shape, world.rt)) as Tensor);
      });
    }
    const shown = args.map((a) => (copies.includes(a as Tensor) ? `a copy of ${show(a)}` : a));
    const outcome = settle(() => spec.call(args));
    for (const c of copies) c.dispose();
    return { spec, shown, outcome };
  });
  for (const c of calls) judge(world, `${c.spec.name} (concurrent)`, c.shown, await c.outcome);
  const after = bytes(world);
  if (after !== before) fail(world, "concurrent async calls", calls.map((c) => `${c.spec.name}(${c.shown.map((a) => show(a)).join(", ")})`), `bytesInUse went from ${before} to ${after}`);
}

// ---- The reference: fixed data through the main kernels, fresh each time; its bits must never change.

async function reference(api: Api, rt: Runtime): Promise<Uint32Array[]> {
  const rng = new Rng(777);
  const out: Uint32Array[] = [];
  const made: { dispose(): void }[] = [];
  const take = (t: Tensor | null) => {
    if (t) {
      out.push(new Uint32Array(t.toFloat32Array().buffer));
      made.push(t);
    }
    return t!;
  };
  const mk = (shape: number[]) => take(api.tensor(rng.data(shape.reduce((a, b) => a * b, 1)), shape, rt));
  const x = mk([1, 8, 32, 32]), w = mk([16, 8, 3, 3]), b = mk([16]), dy = mk([1, 16, 30, 30]);
  take(api.conv2d(x, w, b));
  take(await api.conv2dAsync(x, w, b));
  for (const g of [api.conv2dBackward(dy, x, w), await api.conv2dBackwardAsync(dy, x, w)]) [g.dx, g.dw, g.db].forEach(take);
  const options = { stride: 2, pad: 1, groups: 2 };
  const xs = mk([2, 4, 6, 6]), ws = mk([6, 2, 3, 3]), bs = mk([6]);
  const ys = take(api.conv2d(xs, ws, bs, options));
  const gs = api.conv2dBackward(ys, xs, ws, options);
  [gs.dx, gs.dw, gs.db].forEach(take);
  const lin = new api.Linear({ inFeatures: 5, outFeatures: 4, seed: 11, runtime: rt });
  made.push(lin);
  const lx = mk([3, 5]);
  const ly = take(lin.forward(lx));
  take(lin.backward(ly));
  take(lin.weightGrad);
  const loss = api.softmaxCrossEntropy(ly, [0, 3, 1]);
  take(loss.grad);
  out.push(new Uint32Array(Float64Array.of(loss.loss).buffer));
  take(api.maxPool2x2(take(api.relu(xs))));
  take(api.maxPool2d(take(api.sigmoid(xs)), { kernelSize: 3, stride: 2, pad: 1 }));
  take(api.avgPool2dBackward(take(api.avgPool2d(take(api.tanh(xs)), { kernelSize: 2 })), xs, { kernelSize: 2 }));
  const bn = new api.BatchNorm2d({ numFeatures: 4, runtime: rt });
  made.push(bn);
  take(bn.backward(take(bn.forward(xs))));
  for (const m of made) m.dispose();
  return out;
}

async function checkReference(world: World, when: string): Promise<void> {
  const before = bytes(world);
  const now = await reference(world.api, world.rt);
  const expected = references.get(world)!;
  const bad = now.map((a, i) => (sameBits(a, expected[i]!) ? -1 : i)).filter((i) => i >= 0);
  if (bad.length) fail(world, "the reference computation", null, `${when}: outputs ${bad.join(", ")} differ in their bits from the first run`);
  if (bytes(world) !== before) fail(world, "the reference computation", null, `${when}: bytesInUse went from ${before} to ${bytes(world)}`);
}

async function runPhase(world: World, async: boolean, count: number): Promise<void> {
  const { rng } = world;
  const specs = async ? [...world.specs, ...world.asyncSpecs.map((s) => ({ ...s, weight: (s.weight ?? 1) * 6 }))] : world.specs;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const r = rng.next();
    if (r < 0.2) await runSession(world, pickWeighted(rng, world.sessions), async);
    else if (async && r < 0.27) await concurrentBatch(world);
    else {
      const spec = pickWeighted(rng, specs);
      await probe(world, spec, argsFor(world, spec));
    }
    if (i % 250 === 249) await checkReference(world, `after ${i + 1} rounds`);
  }
  await checkReference(world, `after all ${count} rounds`);
  const { calls, ok, codes } = world.stats;
  const top = [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(", ");
  console.log(`fuzz ${world.label} ${async ? "async" : "sync"} (seed ${SEED}): ${calls} calls, ${ok} returned, in ${((performance.now() - start) / 1000).toFixed(1)} s; ${top}`);
  world.stats = { calls: 0, ok: 0, codes: new Map() };
}

beforeAll(async () => {
  const built = {
    ...(await import("../../dist/index.js")), ...(await import("../../dist/onnx/index.js")), ...(await import("../../dist/tfjs/index.js")),
  } as unknown as Api;
  apis.push(built);
  moduleBytes = new Uint8Array(await readFile(new URL("../../build/conv2d-simd.wasm", import.meta.url)));
  compiledModule = await WebAssembly.compile(moduleBytes);
  const single = await source.init();
  const pool = await built.init({ threads: 2 });
  const s = buildWorld("one thread", source, { simd: "auto", threads: 1 }, single, await source.createRuntime({ simd: "fixed" }), SEED);
  // The pool's other runtime is a pool already terminated: its calls run on the calling thread, as documented.
  const ended = await built.createRuntime({ threads: 2 });
  ended.terminate();
  const p = buildWorld("pool of 2", built, { simd: "auto", threads: 2 }, pool, ended, SEED ^ 0x9e3779b9);
  // A tensor of the other copy of the library is one more kind of wrong argument.
  s.values.push(...p.tensors.slice(0, 4));
  p.values.push(...s.tensors.slice(0, 4));
  for (const known of [s.known, p.known]) for (const x of [...s.tensors, ...p.tensors, single, pool, s.other, p.other]) known.add(x);
  worlds = { single: s, pool: p };
  references = new Map([[s, await reference(source, single)], [p, await reference(built, pool)]]);
});

afterAll(() => {
  for (const world of Object.values(worlds ?? {})) {
    world.rt.terminate();
    world.other.terminate();
  }
});

describe("the public surface under fuzzed arguments", () => {
  it("fuzzes every export (or says why not)", () => {
    const fuzzed = new Set([...worlds.single.specs, ...worlds.single.asyncSpecs, ...worlds.single.sessions].map((s) => s.export));
    const missing = Object.keys(source).filter((name) => !fuzzed.has(name) && !(name in NOT_FUZZED));
    expect(missing).toEqual([]);
  });

  for (const key of ["single", "pool"] as const) {
    it(`${key === "single" ? "one thread" : "a pool of 2 threads"}: synchronous calls`, async () => {
      await runPhase(worlds[key], false, CALLS);
      expectNoFailures();
    });
    it(`${key === "single" ? "one thread" : "a pool of 2 threads"}: async calls (some concurrent), init and createRuntime`, async () => {
      await runPhase(worlds[key], true, CALLS);
      expectNoFailures();
    });
  }
});
