// The portable correctness suite: any runtime hands it the loaded API and gets pass/fail with messages (no vitest, no node: imports).

// Typed against dist/, the built package that every runtime loads (so `npm run build` comes before typecheck).
import type * as Api from "../../dist/index.js";
import { referenceConv2d, firstMismatch } from "../reference/conv2d.ts";
import { randomCases, referenceConfig, caseOptions, randomData, type PortableCase } from "./cases.ts";
import { resultsHash } from "./hash.ts";
import { errorCaseProblem, type ErrorCase } from "./error-cases.ts";
import { runtimeName } from "../../bench/lib/runtime-name.ts";
import { LAYER_ERROR_CASES, layerErrorCatalogue, layerReferenceComparison, resnetBlockNoLeak } from "./layers.ts";
import { leakFree, modelFileDigests, onnxRoundTrip, pytorchLenet, safetensorsRoundTrip, type ModelInputs } from "./models.ts";

export { MODEL_FIXTURE_DIR, MODEL_FIXTURES, readModelFixtures, type ModelInputs, type OnnxApi } from "./models.ts";

export type ConvApi = typeof Api;

/** Marks the report line among whatever else a runtime prints. */
export const REPORT_PREFIX = "PORTABLE-SUITE-REPORT ";

export interface SuiteOptions {
  /** Seed of the random configurations; printed with every failure so a run can be replayed. */
  seed: number;
  /** How many random configurations to compare with the reference (default 500). */
  cases?: number;
  /** Where init() loads the module from (workerd passes its imported WebAssembly.Module). */
  wasm?: Api.WasmSource;
  /** The wasm-conv2d/onnx subpath as this runtime loaded it, and the PyTorch-written fixtures' bytes (models.ts). */
  models: ModelInputs;
}

export interface CheckResult {
  name: string;
  passed: boolean;
  /** What was checked, or the first thing that went wrong. */
  detail: string;
}

export interface SuiteReport {
  runtime: string;
  seed: number;
  passed: boolean;
  checks: CheckResult[];
  /** SHA-256 of out, dx, dw, db over the fixed configurations of hash.ts, the layers' results of layers.ts and the model files' of models.ts (fixed SIMD build). */
  hash: string;
  /**
   * The micro-kernel form the engine chose (Runtime.broadcast, internal): "shuffle" in Deno, Bun and
   * workerd, "load" in Node, so that their hashes matching Node's shows the two forms give the same bits.
   */
  broadcast: string;
}

/** Runs every portable check; never throws for a failed check (each becomes a CheckResult). */
export async function runPortableSuite(api: ConvApi, options: SuiteOptions): Promise<SuiteReport> {
  const { seed, cases = 500, wasm, models } = options;
  // A runtime of its own for each check that needs a fresh one (init() would hand back the same one).
  const load = () => api.createRuntime(wasm === undefined ? { simd: "fixed" } : { simd: "fixed", wasm });
  const checks: CheckResult[] = [];
  const record = async (name: string, check: () => string | null | Promise<string | null>, success: string | (() => string)) => {
    let problem: string | null;
    try {
      problem = await check();
    } catch (error) {
      problem = `threw ${(error as Error)?.stack ?? error}`;
    }
    checks.push({ name, passed: problem === null, detail: problem ?? (typeof success === "string" ? success : success()) });
  };

  const runtime = await load();
  await record("createRuntime({ simd: \"fixed\" }) runs the plain SIMD build", () => (runtime.simd === "fixed" ? null : `runtime.simd is ${runtime.simd}`), "fixed");
  await record(`out, dx, dw, db match the float64 reference on ${cases} random configurations`,
    () => referenceComparison(api, runtime, seed, cases), `${cases} configurations, seed ${seed}`);
  await record("the gradient check passes on strided, padded, dilated, grouped and depthwise layers",
    () => gradientChecks(api, runtime), "7 configurations × 2 seeds, dx, dw and db under GRADCHECK_TOLERANCE");
  await record("the gradient check fails for a deliberately wrong dx", () => wrongGradientIsCaught(api, runtime), "caught");
  await record("bad input throws a ConvError with its code, leaks nothing and leaves the runtime usable",
    async () => errorCatalogue(api, runtime, await load()), `${ERROR_CASES} error cases`);
  await record("tensors read and compute correctly after memory.grow detached the old buffer", () => memoryGrowth(api, runtime), "ok");
  await record("200 forward/backward steps in scope() leave bytes in use and the memory size unchanged", () => noLeak(api, runtime), "flat");
  const layerCases = Math.max(20, Math.round(cases / 5));
  await record(`transposed convolution, pooling, batch norm, activations and MSE match the float64 references on ${layerCases} random cases each`,
    () => layerReferenceComparison(api, runtime, seed, layerCases), `${layerCases} cases, seed ${seed}`);
  await record("bad input to the transposed convolution, pooling, batch norm, dropout and loss throws a ConvError with its code and leaks nothing",
    () => layerErrorCatalogue(api, runtime), `${LAYER_ERROR_CASES} error cases`);
  await record("200 training steps of a ResNet block (batch norm, residual, dropout, transposed conv, pooling) leave memory flat",
    () => resnetBlockNoLeak(api, runtime, 200), "flat");
  let digests = "";
  await record("a model saved with saveSafetensors, read by loadSafetensors and loaded into one of other weights gives its eval output bit for bit; truncated and hostile files throw ERR_MODEL_FILE",
    () => leakFree(runtime, async () => {
      digests = await modelFileDigests(api, models.onnx, runtime);
      return safetensorsRoundTrip(api, runtime);
    }), () => `Conv2d, BatchNorm2d, MaxPool2d, Residual, AdaptiveAvgPool2d, Linear; ${digests}`);
  await record("exportOnnx → importOnnx gives the model's eval output bit for bit (the bytes the same twice), and a training step its gradients",
    () => leakFree(runtime, () => onnxRoundTrip(api, models.onnx, runtime)), "bit for bit");
  await record("lenet.onnx, written by PyTorch, imported from bytes gives PyTorch's logits within 1e-4 and its gradients within 1e-3",
    () => leakFree(runtime, () => pytorchLenet(api, models.onnx, runtime, models.fixtures)), "within tolerance");
  let hash = "";
  await record("results hash (fixed SIMD build)", async () => {
    hash = await resultsHash(api, await load(), models);
    return null;
  }, "computed");
  const broadcast = String((runtime as unknown as { broadcast?: string }).broadcast);
  return { runtime: runtimeName(), seed, passed: checks.every((c) => c.passed), checks, hash, broadcast };
}

/** The first disagreement between the kernels and the reference for one case, or null. */
export function compareWithReference(api: ConvApi, runtime: Api.Runtime, c: PortableCase): string | null {
  const ref = referenceConfig(c)!;
  const xShape = [c.N, c.C, c.H, c.W];
  const wShape = [c.F, c.C / c.groups, c.KH, c.KW];
  const xData = randomData(c.seed, xShape.reduce((a, b) => a * b));
  const wData = randomData(c.seed + 1, wShape.reduce((a, b) => a * b));
  const bData = c.bias ? randomData(c.seed + 2, c.F) : null;
  return api.scope(() => {
    const x = api.tensor(xData, xShape, runtime);
    const w = api.tensor(wData, wShape, runtime);
    const b = bData ? api.tensor(bData, [c.F], runtime) : null;
    const out = api.conv2d(x, w, b, caseOptions(c));
    const dyData = randomData(c.seed + 3, out.size);
    const expected = referenceConv2d(ref, xData, wData, bData, dyData);
    const wantShape = [c.N, c.F, expected.outHeight, expected.outWidth];
    if (out.shape.join() !== wantShape.join()) return `output shape ${out.shape} ≠ reference ${wantShape}`;
    const { dx, dw, db } = api.conv2dBackward(api.tensor(dyData, out.shape, runtime), x, w, caseOptions(c));
    for (const [name, actual, wanted] of [["out", out, expected.out], ["dx", dx!, expected.dx], ["dw", dw!, expected.dw], ["db", db!, expected.db]] as const) {
      const problem = firstMismatch(actual.toFloat32Array(), wanted);
      if (problem) return `${name}: ${problem}`;
    }
    return null;
  });
}

function referenceComparison(api: ConvApi, runtime: Api.Runtime, seed: number, count: number): string | null {
  const cases = randomCases(seed, count);
  for (let i = 0; i < cases.length; i++) {
    const problem = compareWithReference(api, runtime, cases[i]!);
    if (problem) return `seed ${seed}, case ${i}: ${problem} in ${JSON.stringify(cases[i])}`;
  }
  return null;
}

const GRADCHECK_CONFIGS: Api.GradcheckConfig[] = [
  { stride: 2, pad: 1 },
  { stride: 3, pad: { top: 1, bottom: 0, left: 2, right: 1 }, height: 8, width: 9 },
  { dilation: 2, pad: 2 },
  { groups: 2, inChannels: 4, outChannels: 6 },
  { stride: [2, 1], dilation: 2, groups: 2, inChannels: 4, outChannels: 4, kernelSize: [3, 2], pad: 1, height: 9, width: 8 },
  { groups: 3, inChannels: 3, outChannels: 3, pad: "same" },
  { kernelSize: 1, inChannels: 5, outChannels: 3 },
];

function gradientChecks(api: ConvApi, runtime: Api.Runtime): string | null {
  for (const config of GRADCHECK_CONFIGS) {
    for (const seed of [1, 2]) {
      const r = api.gradcheckConv2d({ ...config, seed, runtime });
      if (!r.passed) return `${JSON.stringify(config)}, seed ${seed}: dx ${r.dx}, dw ${r.dw}, db ${r.db} (tolerance ${r.tolerance})`;
    }
  }
  return null;
}

// A dx shifted by one element is what a mis-strided scatter produces; the check must see it.
function wrongGradientIsCaught(api: ConvApi, runtime: Api.Runtime): string | null {
  const r = api.gradcheckConv2d({
    stride: 2, pad: 1, dilation: 2, seed: 5, height: 9, width: 9, runtime,
    backward: (dy, x, w, o) => {
      const right = api.conv2dBackward(dy, x, w, o);
      const data = right.dx!.toFloat32Array();
      const shifted = new Float32Array(data.length);
      for (let i = 1; i < data.length; i++) shifted[i] = data[i - 1]!;
      return { ...right, dx: api.tensor(shifted, x.shape, runtime) };
    },
  });
  if (r.passed || r.dx <= r.tolerance) return `a shifted dx passed: dx error ${r.dx}`;
  return null;
}

const ERROR_CASES = 12;

function errorCatalogue(api: ConvApi, runtime: Api.Runtime, other: Api.Runtime): string | null {
  const { ErrorCode: E } = api;
  const x = api.tensor(randomData(1, 2 * 3 * 6 * 6), [2, 3, 6, 6], runtime);
  const w = api.tensor(randomData(2, 4 * 3 * 3 * 3), [4, 3, 3, 3], runtime);
  const b = api.tensor(randomData(3, 4), [4], runtime);
  const dy = api.tensor(randomData(4, 2 * 4 * 4 * 4), [2, 4, 4, 4], runtime);
  const foreign = api.tensor(randomData(5, 4 * 3 * 3 * 3), [4, 3, 3, 3], other);
  const gone = api.tensor([1, 2, 3, 4], [4], runtime);
  gone.dispose();
  const cases: ErrorCase[] = [
    ["stride 0", E.STRIDE, () => api.conv2d(x, w, b, { stride: 0 })],
    ["dilation 1.5", E.DILATION, () => api.conv2d(x, w, b, { dilation: 1.5 })],
    ["pad -1", E.PAD, () => api.conv2d(x, w, b, { pad: -1 })],
    ["groups 2 with C = 3", E.GROUPS, () => api.conv2d(x, w, b, { groups: 2 })],
    ["w with 2 channels", E.CHANNELS, () => api.conv2d(x, api.zeros([4, 2, 3, 3], runtime), b)],
    ["9×9 kernel on 6×6", E.KERNEL_TOO_LARGE, () => api.conv2d(x, api.zeros([4, 3, 9, 9], runtime), b)],
    ["bias of 3", E.BIAS, () => api.conv2d(x, w, api.zeros([3], runtime))],
    ["dy of the wrong shape", E.GRAD_SHAPE, () => api.conv2dBackward(api.zeros([2, 4, 5, 5], runtime), x, w, {})],
    ["data length 5 for [4]", E.DATA_LENGTH, () => api.tensor([1, 2, 3, 4, 5], [4], runtime)],
    ["unknown option strides", E.UNKNOWN_OPTION, () => api.conv2d(x, w, b, { strides: 2 } as never)],
    ["disposed tensor", E.DISPOSED, () => api.conv2d(x, w, gone)],
    ["tensors of two runtimes", E.FOREIGN_TENSOR, () => api.conv2d(x, foreign, b)],
  ];
  if (cases.length !== ERROR_CASES) return `expected ${ERROR_CASES} cases, have ${cases.length}`;
  const problem = errorCaseProblem(api, runtime, cases);
  if (problem) return problem;
  const usable = api.scope(() => api.conv2d(x, w, b, { pad: 1 }).shape.join());
  if (usable !== "2,4,6,6") return `the runtime is not usable after the errors: shape ${usable}`;
  for (const t of [x, w, b, dy, foreign]) t.dispose();
  return null;
}

function memoryGrowth(api: ConvApi, runtime: Api.Runtime): string | null {
  const c: PortableCase = { N: 1, C: 3, H: 8, W: 8, F: 4, KH: 3, KW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, groups: 1, pad: 1, bias: false, seed: 10 };
  const xData = randomData(c.seed, 3 * 8 * 8);
  const wData = randomData(c.seed + 1, 4 * 3 * 3 * 3);
  const x = api.tensor(xData, [1, 3, 8, 8], runtime);
  const w = api.tensor(wData, [4, 3, 3, 3], runtime);
  const before = runtime.memoryUsage().wasmMemoryBytes;
  const buffer = (runtime as unknown as { kernels: { memory: WebAssembly.Memory } }).kernels.memory.buffer; // internal: the test holds a view on purpose
  const big = api.zeros([16, 1024, 1024], runtime); // 64 MiB more than the memory has: it must grow
  try {
    if (runtime.memoryUsage().wasmMemoryBytes <= before) return "the memory did not grow";
    if (buffer.byteLength !== 0) return "the old buffer was not detached by memory.grow";
    if (firstMismatch(x.toFloat32Array(), xData) || firstMismatch(w.toFloat32Array(), wData)) return "tensors read wrong after growth";
    const ref = referenceConv2d(referenceConfig(c)!, xData, wData, null);
    const problem = api.scope(() => firstMismatch(api.conv2d(x, w, null, { pad: 1 }).toFloat32Array(), ref.out));
    return problem ? `conv2d after growth: ${problem}` : null;
  } finally {
    for (const t of [x, w, big]) t.dispose();
  }
}

function noLeak(api: ConvApi, runtime: Api.Runtime): string | null {
  const step = () => api.scope(() => {
    const x = api.tensor(randomData(20, 2 * 4 * 10 * 10), [2, 4, 10, 10], runtime);
    const w = api.tensor(randomData(21, 6 * 2 * 3 * 3), [6, 2, 3, 3], runtime);
    const out = api.conv2d(x, w, null, { stride: 2, pad: 1, groups: 2 });
    api.conv2dBackward(api.zeros(out.shape, runtime), x, w, { stride: 2, pad: 1, groups: 2 });
  });
  step();
  const before = runtime.memoryUsage();
  for (let i = 0; i < 200; i++) step();
  const after = runtime.memoryUsage();
  if (after.bytesInUse !== before.bytesInUse) return `bytes in use ${before.bytesInUse} → ${after.bytesInUse}`;
  if (after.wasmMemoryBytes !== before.wasmMemoryBytes) return `memory ${before.wasmMemoryBytes} → ${after.wasmMemoryBytes} bytes`;
  return null;
}
