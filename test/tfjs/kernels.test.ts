// The plugin's eight convolution kernels on 520 seeded random configurations, and MaxPoolGrad on 80,, on tfjs's wasm and cpu backends, against tfjs-cpu's own kernels and the float64 reference.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { ConvError, ErrorCode, memoryUsage } from "../../js/index.js";
import { registerTfjsKernels, type TfjsNamespace, type TfjsRegistration } from "../../js/tfjs/index.js";
import { referenceConv2d, samePadding, type ReferenceConfig } from "../reference/conv2d.js";
import { rng } from "../helpers/seeded.js";

// tfjs's own namespace type is a TfjsNamespace: the documented call compiles without a cast.
const ns: TfjsNamespace = tf;
const KERNELS = [
  "Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D",
  "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
] as const;
type Kernel = (typeof KERNELS)[number];
const ACTIVATIONS = ["linear", "relu", "relu6", "elu", "leakyrelu", "sigmoid", "prelu"] as const;
const CONFIGS_PER_KERNEL = 65;

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  kernel: Kernel;
  depthwise: boolean;
  nchw: boolean;
  N: number; C: number; H: number; W: number; KH: number; KW: number;
  /** F for conv2d; the channel multiplier M for depthwise (F = C·M). */
  F: number; M: number;
  sh: number; sw: number; dh: number; dw: number;
  pad: Pad;
  rounding?: "floor" | "round" | "ceil";
  activation: (typeof ACTIVATIONS)[number];
  alpha: number;
  /** Per side, and the output size, restated from tfjs's documented rules (not read from tfjs). */
  sides: { top: number; bottom: number; left: number; right: number };
  Ho: number; Wo: number;
  x: Float32Array; w: Float32Array; bias: Float32Array; prelu: Float32Array; dy: Float32Array;
}

const round = (v: number, mode: Case["rounding"]) => (mode === "round" ? Math.round(v) : mode === "ceil" ? Math.ceil(v) : Math.floor(v));

function outAndSides(size: number, k: number, s: number, d: number, pad: Pad, axis: 0 | 1, rounding: Case["rounding"], nchw: boolean) {
  const eff = d * (k - 1) + 1;
  let before: number, after: number, out: number;
  if (pad === "same") {
    [before, after] = samePadding(size, s, k, d);
    out = Math.ceil(size / s);
  } else if (pad === "valid") {
    before = after = 0;
    out = Math.ceil((size - eff + 1) / s);
  } else if (typeof pad === "number") {
    before = after = pad;
    out = round((size - eff + 2 * pad) / s + 1, rounding);
  } else {
    [before, after] = pad[(nchw ? 2 : 1) + axis]!;
    out = round((size - eff + before + after) / s + 1, rounding);
  }
  // Rows past the padded input (a rounding up) read zeros: extend the far side to reach them.
  after = Math.max(after, (out - 1) * s + eff - size - before);
  return { before, after, out };
}

function makeCase(kernel: Kernel, random: () => number): Case | null {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const depthwise = kernel.includes("Depthwise");
  const nchw = !depthwise && random() < 0.35;
  const form = random();
  // tfjs sizes a numeric pad's output with the kernel height, stride and dilation for both axes
  // (computeOutputShape2D): right only where the two axes agree, so those cases are square.
  const square = form >= 0.5 && form < 0.75;
  const N = int(1, 2), C = int(1, 6), H = int(1, 11), W = int(1, 11), KH = int(1, 4), KW = square ? KH : int(1, 4);
  const M = depthwise ? int(1, 3) : 1;
  const F = depthwise ? C * M : int(1, 7);
  // tfjs's rule: strides or dilations are 1.
  const dilated = random() < 0.35;
  const sh = dilated ? 1 : int(1, 3), sw = dilated || square ? sh : int(1, 3);
  const dh = dilated ? int(1, 3) : 1, dw = square ? dh : dilated ? int(1, 3) : 1;
  let pad: Pad, rounding: Case["rounding"];
  if (form < 0.3) pad = "same";
  else if (form < 0.5) pad = "valid";
  else if (square) pad = int(0, 2);
  else {
    const p = () => [int(0, 3), int(0, 3)] as [number, number];
    pad = nchw ? [[0, 0], [0, 0], p(), p()] : [[0, 0], p(), p(), [0, 0]];
  }
  if (typeof pad !== "string" && random() < 0.5) rounding = (["floor", "round", "ceil"] as const)[int(0, 2)];
  const rows = outAndSides(H, KH, sh, dh, pad, 0, rounding, nchw), cols = outAndSides(W, KW, sw, dw, pad, 1, rounding, nchw);
  if (rows.out < 1 || cols.out < 1) return null;
  // tfjs's output must start inside the padded input for both its kernels and the reference to agree on "zeros".
  if ((rows.out - 1) * sh - rows.before >= H || (cols.out - 1) * sw - cols.before >= W) return null;
  const data = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
  const activation = kernel.startsWith("Fused") ? ACTIVATIONS[int(0, ACTIVATIONS.length - 1)]! : "linear";
  // relu6's cap must be reached: its inputs scaled up until sums pass 6.
  const x = data(N * C * H * W).map((v) => (activation === "relu6" ? 8 * v : v));
  return {
    kernel, depthwise, nchw, N, C, H, W, KH, KW, F, M, sh, sw, dh, dw, pad, rounding, activation, alpha: 0.1 + random() * 0.3,
    sides: { top: rows.before, bottom: rows.after, left: cols.before, right: cols.after }, Ho: rows.out, Wo: cols.out,
    x, w: data(KH * KW * C * (depthwise ? M : F)), bias: data(F), prelu: data(F), dy: data(N * F * rows.out * cols.out),
  };
}

const xShape = (c: Case) => (c.nchw ? [c.N, c.C, c.H, c.W] : [c.N, c.H, c.W, c.C]);
const yShape = (c: Case) => (c.nchw ? [c.N, c.F, c.Ho, c.Wo] : [c.N, c.Ho, c.Wo, c.F]);
const wShape = (c: Case) => [c.KH, c.KW, c.C, c.depthwise ? c.M : c.F];

/** One kernel call through tfjs's engine, on whatever backend is active; the values, and every tensor disposed. */
function runCase(c: Case): Float32Array {
  return tf.tidy(() => {
    const attrs: Record<string, unknown> = {
      strides: [c.sh, c.sw], pad: c.pad, dilations: [c.dh, c.dw], dataFormat: c.nchw ? "NCHW" : "NHWC", dimRoundingMode: c.rounding,
    };
    const x = tf.tensor(c.x, xShape(c)), w = tf.tensor(c.w, wShape(c)), dy = tf.tensor(c.dy, yShape(c));
    const inputs: Record<string, unknown> = {};
    if (c.kernel.endsWith("BackpropInput")) {
      Object.assign(inputs, { dy, filter: w });
      attrs.inputShape = xShape(c);
    } else if (c.kernel.endsWith("BackpropFilter")) {
      Object.assign(inputs, { x, dy });
      attrs.filterShape = wShape(c);
    } else {
      Object.assign(inputs, { x, filter: w });
      if (c.kernel.startsWith("Fused")) {
        inputs.bias = tf.tensor(c.bias, [c.F]);
        attrs.activation = c.activation;
        if (c.activation === "prelu") inputs.preluActivationWeights = tf.tensor(c.prelu, [c.F]);
        if (c.activation === "leakyrelu") attrs.leakyreluAlpha = c.alpha;
      }
    }
    const out = tf.engine().runKernel(c.kernel, inputs as never, attrs as never) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

/** NHWC ↔ NCHW and HWIO ↔ OIHW in float64, written here from the layouts' definitions. */
function toNchw(v: ArrayLike<number>, N: number, H: number, W: number, C: number): Float64Array {
  const out = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) {
    out[((n * C + c) * H + h) * W + w] = v[((n * H + h) * W + w) * C + c]!;
  }
  return out;
}
function toNhwc(v: ArrayLike<number>, N: number, C: number, H: number, W: number): Float64Array {
  const out = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    out[((n * H + h) * W + w) * C + c] = v[((n * C + c) * H + h) * W + w]!;
  }
  return out;
}

/** The float64 reference of a case, in tfjs's layouts. */
function referenceOf(c: Case): Float64Array {
  const cfg: ReferenceConfig = {
    N: c.N, C: c.C, H: c.H, W: c.W, F: c.F, KH: c.KH, KW: c.KW, strideH: c.sh, strideW: c.sw,
    padTop: c.sides.top, padBottom: c.sides.bottom, padLeft: c.sides.left, padRight: c.sides.right,
    dilationH: c.dh, dilationW: c.dw, groups: c.depthwise ? c.C : 1,
  };
  const Cg = c.depthwise ? 1 : c.C;
  // HWIO [KH, KW, C, F] (depthwise [KH, KW, C, M]) → OIHW [F, Cg, KH, KW].
  const w = new Float64Array(c.F * Cg * c.KH * c.KW);
  for (let kh = 0; kh < c.KH; kh++) for (let kw = 0; kw < c.KW; kw++) for (let ci = 0; ci < c.C; ci++) {
    for (let o = 0; o < (c.depthwise ? c.M : c.F); o++) {
      const f = c.depthwise ? ci * c.M + o : o, cg = c.depthwise ? 0 : ci;
      w[((f * Cg + cg) * c.KH + kh) * c.KW + kw] = c.w[((kh * c.KW + kw) * c.C + ci) * (c.depthwise ? c.M : c.F) + o]!;
    }
  }
  const x = c.nchw ? Float64Array.from(c.x) : toNchw(c.x, c.N, c.H, c.W, c.C);
  const dy = c.nchw ? Float64Array.from(c.dy) : toNchw(c.dy, c.N, c.Ho, c.Wo, c.F);
  const fused = c.kernel.startsWith("Fused");
  const r = referenceConv2d(cfg, x, w, fused ? c.bias : null, dy);
  expect([r.outHeight, r.outWidth]).toEqual([c.Ho, c.Wo]);
  if (c.kernel.endsWith("BackpropInput")) return c.nchw ? r.dx : toNhwc(r.dx, c.N, c.C, c.H, c.W);
  if (c.kernel.endsWith("BackpropFilter")) {
    const dw = new Float64Array(c.w.length);
    for (let kh = 0; kh < c.KH; kh++) for (let kw = 0; kw < c.KW; kw++) for (let ci = 0; ci < c.C; ci++) {
      for (let o = 0; o < (c.depthwise ? c.M : c.F); o++) {
        const f = c.depthwise ? ci * c.M + o : o, cg = c.depthwise ? 0 : ci;
        dw[((kh * c.KW + kw) * c.C + ci) * (c.depthwise ? c.M : c.F) + o] = r.dw[((f * Cg + cg) * c.KH + kh) * c.KW + kw]!;
      }
    }
    return dw;
  }
  const plane = c.Ho * c.Wo;
  const out = r.out.map((v, i) => {
    const f = Math.floor(i / plane) % c.F;
    switch (c.activation) {
      case "relu": return Math.max(v, 0);
      case "relu6": return Math.min(Math.max(v, 0), 6);
      case "elu": return v < 0 ? Math.exp(v) - 1 : v;
      case "leakyrelu": return v < 0 ? Math.fround(c.alpha) * v : v;
      case "sigmoid": return 1 / (1 + Math.exp(-v));
      case "prelu": return v < 0 ? c.prelu[f]! * v : v;
      default: return v;
    }
  });
  return c.nchw ? out : toNhwc(out, c.N, c.F, c.Ho, c.Wo);
}

/** max |a − e| / max |e|: rounding of float32 sums of up to 6·4·4 terms stays far below 1e-5 of the largest value. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0, scale = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}
const TOLERANCE = 1e-5;

/**
 * tfjs has no dilated backprop kernels (its gradients refuse dilated convolutions): its
 * Conv2DBackpropInput/Filter have no dilations attribute, and its depthwise ones take it but compute
 * as if it were 1 (checked here: they are off by the order of the values). The plugin's honour it.
 * Those cases are checked against the float64 reference alone.
 */
const tfjsHasNoKernel = (c: Case) => c.kernel.includes("Backprop") && (c.dh > 1 || c.dw > 1);

const cases: Case[] = [];
const tfjsOwn: (Float32Array | null)[] = [];
let registration: TfjsRegistration;

beforeAll(async () => {
  const random = rng(20261202);
  for (const kernel of KERNELS) {
    let made = 0;
    while (made < CONFIGS_PER_KERNEL) {
      const c = makeCase(kernel, random);
      if (c) {
        cases.push(c);
        made++;
      }
    }
  }
  // tfjs-cpu's own kernels first, before anything is registered.
  await tf.setBackend("cpu");
  for (const c of cases) {
    try {
      tfjsOwn.push(tfjsHasNoKernel(c) ? null : runCase(c));
    } catch (e) {
      throw new Error(`${describeCase(c)} Ho ${c.Ho} Wo ${c.Wo}: ${e}`);
    }
  }
  registration = await registerTfjsKernels(ns, { forward: "replace" });
}, 120_000);

afterAll(() => registration?.unregister());

describe("registerTfjsKernels: every kernel on 520 random configurations", () => {
  it("covers NHWC and NCHW, every padding form and rounding, strides, dilations and channel multipliers", () => {
    expect(cases.length).toBe(KERNELS.length * CONFIGS_PER_KERNEL);
    expect(cases.filter((c) => c.nchw).length).toBeGreaterThan(60);
    for (const form of ["same", "valid", "number", "object"]) expect(cases.some((c) => (typeof c.pad === "string" ? c.pad : typeof c.pad) === form)).toBe(true);
    for (const mode of ["floor", "round", "ceil"]) expect(cases.some((c) => c.rounding === mode)).toBe(true);
    expect(cases.some((c) => c.depthwise && c.M > 1)).toBe(true);
    expect(cases.some((c) => c.sh > 1 && c.sw > 1) && cases.some((c) => c.dh > 1)).toBe(true);
    for (const a of ACTIVATIONS) expect(cases.some((c) => c.activation === a)).toBe(true);
    // relu6 meets its cap.
    expect(cases.some((c) => c.activation === "relu6" && referenceOf(c).some((v) => v === 6))).toBe(true);
    // Some rounding really grows the output past floor's.
    expect(cases.some((c) => c.rounding === "ceil" && c.sides.bottom > (typeof c.pad === "number" ? c.pad : -1))).toBe(true);
  });

  it("tfjs-cpu's own kernels agree with the float64 reference (the reference is right about tfjs's rules)", () => {
    const bad = cases.map((c, i) => ({ i, e: tfjsOwn[i] ? scaledError(tfjsOwn[i]!, referenceOf(c)) : 0 })).filter((r) => !(r.e <= TOLERANCE));
    expect(tfjsOwn.filter((t) => t).length).toBeGreaterThan(450);
    expect(bad.map(({ i, e }) => `${describeCase(cases[i]!)}: ${e}`)).toEqual([]);
  });

  for (const backend of ["cpu", "wasm"] as const) {
    it(`on ${backend}: each kernel matches tfjs-cpu's own and the float64 reference`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors, bytes = memoryUsage(registration.runtime).bytesInUse;
      const bad: string[] = [];
      cases.forEach((c, i) => {
        const got = runCase(c);
        const own = tfjsOwn[i] ? scaledError(got, tfjsOwn[i]!) : 0, reference = scaledError(got, referenceOf(c));
        if (!(own <= TOLERANCE && reference <= TOLERANCE)) bad.push(`${describeCase(c)}: vs tfjs ${own}, vs float64 ${reference}`);
      });
      expect(bad).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
      expect(memoryUsage(registration.runtime).bytesInUse).toBe(bytes);
    }, 120_000);
  }
});

function describeCase(c: Case): string {
  return `${c.kernel} ${c.nchw ? "NCHW" : "NHWC"} x[${xShape(c)}] w[${wShape(c)}] s${c.sh},${c.sw} d${c.dh},${c.dw} pad ${JSON.stringify(c.pad)} ${c.rounding ?? ""} ${c.activation}`;
}

/** A MaxPoolGrad case: NHWC x, its window, stride, pad, and dy of tfjs's output shape (restated as for the convolutions). */
interface PoolCase { N: number; H: number; W: number; C: number; KH: number; KW: number; sh: number; sw: number; pad: Pad; rounding?: Case["rounding"];
  sides: Case["sides"]; Ho: number; Wo: number; x: Float32Array; dy: Float32Array }

function makePoolCase(random: () => number): PoolCase | null {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const form = random();
  const square = form >= 0.6;
  const KH = int(1, 3), KW = square ? KH : int(1, 3), sh = int(1, 3), sw = square ? sh : int(1, 3);
  const pad: Pad = form < 0.35 ? "same" : form < 0.6 ? "valid" : int(0, Math.floor(KH / 2));
  const rounding = typeof pad === "number" && random() < 0.5 ? (["floor", "round", "ceil"] as const)[int(0, 2)] : undefined;
  const N = int(1, 3), H = int(2, 13), W = int(2, 13), C = int(1, 9);
  const rows = outAndSides(H, KH, sh, 1, pad, 0, rounding, false), cols = outAndSides(W, KW, sw, 1, pad, 1, rounding, false);
  if (rows.out < 1 || cols.out < 1 || (rows.out - 1) * sh - rows.before >= H || (cols.out - 1) * sw - cols.before >= W) return null;
  // Distinct values: no window has two maxima, so no tie rule is tested (tfjs and this library both take the first).
  const x = Float32Array.from({ length: N * H * W * C }, (_, i) => (random() * 2 - 1) + i * 1e-3 * (random() < 0.5 ? 1 : -1));
  const dy = Float32Array.from({ length: N * rows.out * cols.out * C }, () => random() * 2 - 1);
  return { N, H, W, C, KH, KW, sh, sw, pad, rounding, sides: { top: rows.before, bottom: rows.after, left: cols.before, right: cols.after }, Ho: rows.out, Wo: cols.out, x, dy };
}

/** Float64 MaxPoolGrad from the definition: dy of each window to the (first) largest x inside the input. */
function referenceMaxPoolGrad(c: PoolCase): Float64Array {
  const dx = new Float64Array(c.x.length);
  for (let n = 0; n < c.N; n++) for (let i = 0; i < c.Ho; i++) for (let j = 0; j < c.Wo; j++) for (let ch = 0; ch < c.C; ch++) {
    let best = -Infinity, at = -1;
    for (let kh = 0; kh < c.KH; kh++) for (let kw = 0; kw < c.KW; kw++) {
      const h = i * c.sh - c.sides.top + kh, w = j * c.sw - c.sides.left + kw;
      if (h < 0 || h >= c.H || w < 0 || w >= c.W) continue;
      const index = ((n * c.H + h) * c.W + w) * c.C + ch;
      if (c.x[index]! > best) { best = c.x[index]!; at = index; }
    }
    if (at >= 0) dx[at] = dx[at]! + c.dy[((n * c.Ho + i) * c.Wo + j) * c.C + ch]!;
  }
  return dx;
}

function runPoolCase(c: PoolCase): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(c.x, [c.N, c.H, c.W, c.C]), dy = tf.tensor4d(c.dy, [c.N, c.Ho, c.Wo, c.C]);
    const attrs = { filterSize: [c.KH, c.KW], strides: [c.sh, c.sw], pad: c.pad, dimRoundingMode: c.rounding };
    return (tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: dy } as never, attrs as never) as tf.Tensor).dataSync() as Float32Array;
  });
}

describe("registerTfjsKernels: MaxPoolGrad on 80 random configurations", () => {
  it("matches tfjs-cpu's own and the float64 reference on wasm and cpu", async () => {
    const random = rng(99);
    const pools: PoolCase[] = [];
    while (pools.length < 80) {
      const c = makePoolCase(random);
      if (c) pools.push(c);
    }
    expect(pools.some((c) => c.pad === "same") && pools.some((c) => c.rounding === "ceil") && pools.some((c) => c.C >= 5)).toBe(true);
    registration.unregister();
    await tf.setBackend("cpu");
    const own = pools.map(runPoolCase);
    registration = await registerTfjsKernels(ns, { forward: "replace" });
    expect(registration.kernels.wasm).toContain("MaxPoolGrad");
    pools.forEach((c, i) => expect(scaledError(own[i]!, referenceMaxPoolGrad(c)), `tfjs-cpu's own, case ${i}`).toBeLessThanOrEqual(TOLERANCE));
    for (const backend of ["cpu", "wasm"] as const) {
      await tf.setBackend(backend);
      const bad = pools.map((c, i) => ({ i, own: scaledError(runPoolCase(c), own[i]!), reference: scaledError(runPoolCase(c), referenceMaxPoolGrad(c)) }))
        .filter((r) => !(r.own <= TOLERANCE && r.reference <= TOLERANCE));
      expect(bad, backend).toEqual([]);
    }
  });
});

describe("registerTfjsKernels: what it registers", () => {
  it('forward "auto" leaves NHWC forwards to XNNPACK on wasm and runs the NCHW ones it refuses', async () => {
    const auto = await registerTfjsKernels(ns, { forward: "auto" });
    try {
      expect(auto.kernels.wasm).toEqual(expect.arrayContaining(["Conv2D", "Conv2DBackpropFilter"]));
      expect(auto.kernels.cpu).toEqual(expect.arrayContaining(["Conv2D", "FusedDepthwiseConv2D", "DepthwiseConv2dNativeBackpropFilter"]));
      await tf.setBackend("wasm");
      const c = cases.find((k) => k.kernel === "Conv2D" && k.nchw)!;
      expect(scaledError(runCase(c), referenceOf(c))).toBeLessThanOrEqual(TOLERANCE);
      // An NHWC call gives XNNPACK's bits, which differ from the plugin's on some case.
      const nhwc = cases.filter((k) => k.kernel === "Conv2D" && !k.nchw);
      const xnnpack = nhwc.map(runCase);
      const forwardKeptBits = await (async () => {
        auto.unregister();
        return nhwc.map(runCase);
      })();
      expect(xnnpack).toEqual(forwardKeptBits);
    } finally {
      auto.unregister();
      registration = await registerTfjsKernels(ns, { forward: "replace" });
    }
  });

  it('forward "keep" registers only the backprop kernels; backends limits the backends', async () => {
    const kept = await registerTfjsKernels(ns, { forward: "keep", backends: ["cpu"] });
    try {
      expect(kept.backends).toEqual(["cpu"]);
      expect(kept.kernels).toEqual({
        cpu: ["Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter", "MaxPoolGrad"],
      });
      expect(kept.gradients).toEqual(["Conv2D", "DepthwiseConv2dNative"]);
      expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeUndefined();
    } finally {
      kept.unregister();
      registration = await registerTfjsKernels(ns, { forward: "replace" });
    }
  });

  it("unregister puts tfjs's own kernels and gradients back (wasm again has no Conv2DBackpropFilter)", async () => {
    const own = tf.getKernel("Conv2D", "cpu");
    const reg = await registerTfjsKernels(ns);
    expect(tf.getKernel("Conv2D", "cpu")).not.toBe(own);
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined();
    reg.unregister();
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeUndefined();
    registration = await registerTfjsKernels(ns, { forward: "replace" });
  });

  it("a dilated conv2d and depthwiseConv2d get gradients (tfjs's own refuse them), equal to the float64 reference", async () => {
    await tf.setBackend("wasm");
    const random = rng(7);
    const data = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
    const x = tf.tensor4d(data(2 * 9 * 8 * 3), [2, 9, 8, 3]);
    for (const depthwise of [false, true]) {
      const w = depthwise ? tf.tensor4d(data(3 * 3 * 3 * 2), [3, 3, 3, 2]) : tf.tensor4d(data(3 * 3 * 3 * 4), [3, 3, 3, 4]);
      const F = depthwise ? 6 : 4;
      const op = (a: tf.Tensor4D, b: tf.Tensor4D) => (depthwise ? tf.depthwiseConv2d(a, b, 1, "same", "NHWC", [2, 3]) : tf.conv2d(a, b, 1, "same", "NHWC", [2, 3]));
      // L = Σ y · dyWeights: dL/dy = dyWeights.
      const dyValues = data(2 * 9 * 8 * F);
      const dyT = tf.tensor4d(dyValues, [2, 9, 8, F]);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => op(a as tf.Tensor4D, b as tf.Tensor4D).mul(dyT).sum())([x, w]) as [tf.Tensor, tf.Tensor];
      const c = {
        kernel: "Conv2D", depthwise, nchw: false, N: 2, C: 3, H: 9, W: 8, KH: 3, KW: 3, F, M: 2, sh: 1, sw: 1, dh: 2, dw: 3, pad: "same",
        activation: "linear", alpha: 0, Ho: 9, Wo: 8, x: x.dataSync() as Float32Array, w: w.dataSync() as Float32Array,
        bias: new Float32Array(F), prelu: new Float32Array(F), dy: dyValues,
        sides: { top: samePadding(9, 1, 3, 2)[0], bottom: samePadding(9, 1, 3, 2)[1], left: samePadding(8, 1, 3, 3)[0], right: samePadding(8, 1, 3, 3)[1] },
      } as Case;
      expect(scaledError(gx.dataSync(), referenceOf({ ...c, kernel: "Conv2DBackpropInput" }))).toBeLessThanOrEqual(TOLERANCE);
      expect(scaledError(gw.dataSync(), referenceOf({ ...c, kernel: "Conv2DBackpropFilter" }))).toBeLessThanOrEqual(TOLERANCE);
      tf.dispose([w, dyT, gx, gw]);
    }
    x.dispose();
  });
});

describe("registerTfjsKernels: bad input", () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error instanceof ConvError ? `${error.code} ${error.message}` : `not a ConvError: ${error}`;
    }
    return "no error";
  };
  const codeAsync = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      return error instanceof ConvError ? `${error.code} ${error.message}` : `not a ConvError: ${error}`;
    }
    return "no error";
  };

  it("refuses what is not tfjs's namespace, unknown options and unknown backends, registering nothing", async () => {
    const before = tf.getKernel("Conv2D", "cpu");
    expect(await codeAsync(() => registerTfjsKernels({} as never))).toMatch(/^ERR_INVALID_OPTION registerTfjsKernels: tf: expected the TensorFlow\.js namespace/);
    expect(await codeAsync(() => registerTfjsKernels(ns, { backend: ["cpu"] } as never))).toMatch(/^ERR_UNKNOWN_OPTION registerTfjsKernels/);
    expect(await codeAsync(() => registerTfjsKernels(ns, { backends: ["webgl"] } as never))).toMatch(/^ERR_INVALID_OPTION registerTfjsKernels: options\.backends/);
    expect(await codeAsync(() => registerTfjsKernels(ns, { forward: "fast" } as never))).toMatch(/^ERR_INVALID_OPTION registerTfjsKernels: options\.forward/);
    expect(await codeAsync(() => registerTfjsKernels(ns, { threads: 0 }))).toMatch(/^ERR_INVALID_OPTION createRuntime: options\.threads/);
    expect(tf.getKernel("Conv2D", "cpu")).toBe(before);
  });

  it("a kernel called with a malformed attribute throws a ConvError naming the kernel and backend, and leaks nothing", async () => {
    for (const backend of ["cpu", "wasm"] as const) {
      await tf.setBackend(backend);
      const bytes = memoryUsage(registration.runtime).bytesInUse, tensors = tf.memory().numTensors;
      const message = code(() => tf.tidy(() => tf.engine().runKernel("Conv2DBackpropFilter",
        { x: tf.zeros([1, 5, 5, 2]), dy: tf.zeros([1, 5, 5, 3]) } as never, { strides: 1, pad: "same", filterShape: [3, 3, 2] } as never)));
      expect(message).toBe(`ERR_DIMENSION tfjs Conv2DBackpropFilter (${backend}): attrs.filterShape: expected four whole numbers, received [3, 3, 2]`);
      expect(memoryUsage(registration.runtime).bytesInUse).toBe(bytes);
      expect(tf.memory().numTensors).toBe(tensors);
    }
  });

  it("a dy of another shape than the forward output's goes to the backend's own kernel on cpu, and is refused on wasm", async () => {
    await tf.setBackend("wasm");
    const message = code(() => tf.tidy(() => tf.engine().runKernel("Conv2DBackpropFilter",
      { x: tf.zeros([1, 5, 5, 2]), dy: tf.zeros([1, 4, 5, 3]) } as never, { strides: 1, pad: "same", filterShape: [3, 3, 2, 3] } as never)));
    expect(message).toBe("ERR_UNSUPPORTED tfjs Conv2DBackpropFilter (wasm): inputs.dy: expected the forward output's shape [1, 5, 5, 3], received shape [1, 4, 5, 3]");
  });

  it("a failed call leaves the next one right", async () => {
    await tf.setBackend("wasm");
    code(() => tf.tidy(() => tf.engine().runKernel("Conv2DBackpropInput",
      { dy: tf.zeros([1, 5, 5, 3]), filter: tf.zeros([3, 3, 2, 3]) } as never, { strides: 1, pad: "same", inputShape: [1, 5, 5] } as never)));
    const c = cases.find((k) => k.kernel === "Conv2DBackpropInput")!;
    expect(scaledError(runCase(c), referenceOf(c))).toBeLessThanOrEqual(TOLERANCE);
  });
});
