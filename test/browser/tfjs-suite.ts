// The TensorFlow.js plugin's checks, shared by the Chromium page (test/browser/tfjs.test.ts) and the runtimes (test/runtimes/tfjs-check.ts): seeded random convolutions of every plugin kernel against tfjs-cpu's own kernels, gradients, and model.fit.
//
// Everything comes in as arguments (tfjs's namespace, registerTfjsKernels), so this file imports
// types only and runs unchanged in a page, Node, Deno and Bun. The references are computed with
// tfjs's own cpu kernels before the plugin is registered. tfjs-cpu's backprop kernels ignore
// dilations (Conv2DBackprop* pass 1, the depthwise ones loop over the undilated taps), so every
// reference is an undilated call on the dilated filter spread out with zeros ((K − 1)·d + 1 taps):
// the same convolution, through kernels that handle it; filter gradients are read back at the taps.

import type * as TF from "@tensorflow/tfjs";
import type { registerTfjsKernels, TfjsNamespace, TfjsRegistration } from "wasm-conv2d/tfjs";
import { rng as random } from "../helpers/seeded.ts";

type Tf = typeof TF;
type Register = typeof registerTfjsKernels;
export type TfjsBackend = "wasm" | "cpu";

/** The report line's prefix among a runtime's output. */
export const TFJS_REPORT_PREFIX = "TFJS_REPORT ";

/** Largest error allowed, relative to the reference's largest magnitude. */
export const TOLERANCE = 1e-4;

/** What a check is about: tfjs alone and the gradients, the kernels' cases, model.fit, threads. */
export type TfjsGroup = "gradients" | "kernels" | "training" | "threads";

export interface TfjsCheck {
  group: TfjsGroup;
  name: string;
  passed: boolean;
  detail: string;
}

export interface TfjsReport {
  runtime: string;
  seed: number;
  /** Random configurations per kernel family (regular, depthwise). */
  cases: number;
  backends: TfjsBackend[];
  /** The build registerTfjsKernels(tf) picked here ("relaxed" where the engine has relaxed SIMD). */
  simd: string;
  checks: TfjsCheck[];
  /** "Kernel@backend" → the worst relative error over its cases. */
  worst: Record<string, number>;
  /** Per-epoch model.fit losses, by run. */
  losses: Record<string, number[]>;
  /** Whether every check passed. */
  passed: boolean;
  ms: number;
}

export interface TfjsSuiteOptions {
  runtime: string;
  seed: number;
  /** Random configurations per kernel family; default 30. */
  cases?: number;
  /** The backends the plugin's kernels are checked on (each must be registered with tfjs). */
  backends: TfjsBackend[];
  /** > 1: also train with registerTfjsKernels(tf, { threads, simd: "fixed" }) and require one thread's bits. */
  threads?: number;
}

const REGULAR = ["Conv2D", "FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"] as const;
const DEPTHWISE = ["DepthwiseConv2dNative", "FusedDepthwiseConv2D", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"] as const;
export const PLUGIN_KERNELS = [...REGULAR, ...DEPTHWISE];
type KernelName = (typeof PLUGIN_KERNELS)[number];
const ACTIVATIONS = ["linear", "relu", "relu6", "elu", "leakyrelu", "sigmoid", "prelu"] as const;

type Pair = [number, number];
type Explicit = [Pair, Pair, Pair, Pair];
type Pad = "same" | "valid" | number | Explicit;

/** One random convolution: NHWC (or NCHW for regular ones), HWIO filters ([KH, KW, C, M] depthwise). */
export interface ConvCase {
  id: number;
  depthwise: boolean;
  nchw: boolean;
  xShape: number[];
  filterShape: number[];
  /** outChannels: F, or C·M for depthwise. */
  outChannels: number;
  strides: Pair;
  dilations: Pair;
  pad: Pad;
  dimRoundingMode: "floor" | "round" | "ceil" | undefined;
  outShape: number[];
  activation: (typeof ACTIVATIONS)[number];
  bias: "none" | "full" | "scalar";
  preluScalar: boolean;
  leakyreluAlpha: number;
  x: Float32Array;
  filter: Float32Array;
  dy: Float32Array;
  biasValues: Float32Array;
  prelu: Float32Array;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function values(rnd: () => number, count: number, scale = 1): Float32Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = (rnd() * 2 - 1) * scale;
  return a;
}

/**
 * `count` random convolutions of one family, each with a tfjs output of at least 1×1: batch 1–2, up
 * to 10×10 pixels, 1–4 channels (a fifth of the cases 5–17, to reach the SIMD paths' tails),
 * kernels 1×1–4×4, strides and dilations 1–3 in each direction, "same", "valid", explicit pads
 * (0–2 each side) or a number with a dimRoundingMode; a quarter of the regular ones NCHW.
 */
export function convCases(tf: Tf, seed: number, count: number, depthwise: boolean): ConvCase[] {
  const rnd = random(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const wide = rnd() < 0.2;
    const N = int(1, 2), H = int(1, wide ? 12 : 10), W = int(1, wide ? 12 : 10);
    const C = wide ? int(5, 17) : int(1, 4);
    const M = int(1, 3), F = wide ? int(5, 20) : int(1, 5);
    const KH = int(1, 4), KW = int(1, 4);
    const strides: Pair = [int(1, 3), int(1, 3)];
    const dilations: Pair = rnd() < 0.4 ? [1, 1] : [int(1, 3), int(1, 3)];
    const nchw = !depthwise && rnd() < 0.25;
    const kind = pick(["same", "valid", "explicit", "explicit", "number"] as const);
    let pad: Pad;
    let dimRoundingMode: ConvCase["dimRoundingMode"];
    if (kind === "explicit") {
      const rows: Pair = [int(0, 2), int(0, 2)], cols: Pair = [int(0, 2), int(0, 2)];
      pad = nchw ? [[0, 0], [0, 0], rows, cols] : [[0, 0], rows, cols, [0, 0]];
    } else if (kind === "number") {
      // tfjs sizes both dimensions of a numeric pad with the filter's height and the stride's: square ones only.
      pad = int(0, 2);
      dimRoundingMode = pick(["floor", "round", "ceil"] as const);
    } else {
      pad = kind;
    }
    const square = kind === "number";
    const filterShape = depthwise ? [KH, square ? KH : KW, C, M] : [KH, square ? KH : KW, C, F];
    if (square) {
      strides[1] = strides[0];
      dilations[1] = dilations[0];
    }
    const xShape = nchw ? [N, C, H, W] : [N, H, W, C];
    let outShape: number[];
    try {
      const info = tf.backend_util.computeConv2DInfo(
        xShape as [number, number, number, number], filterShape as [number, number, number, number], strides, dilations,
        pad as never, dimRoundingMode, depthwise, nchw ? "channelsFirst" : "channelsLast",
      );
      outShape = info.outShape;
    } catch {
      continue;
    }
    if (outShape.some((d) => !Number.isInteger(d) || d < 1)) continue;
    const outChannels = depthwise ? C * M : F;
    const activation = pick(ACTIVATIONS);
    const bias = pick(["none", "full", "full", "scalar"] as const);
    const preluScalar = rnd() < 0.3;
    cases.push({
      id: cases.length, depthwise, nchw, xShape, filterShape, outChannels, strides, dilations, pad, dimRoundingMode, outShape,
      activation, bias, preluScalar, leakyreluAlpha: 0.05 + 0.3 * rnd(),
      x: values(rnd, size(xShape)), filter: values(rnd, size(filterShape)), dy: values(rnd, size(outShape)),
      biasValues: values(rnd, bias === "scalar" ? 1 : outChannels), prelu: values(rnd, preluScalar ? 1 : outChannels, 0.5),
    });
  }
  return cases;
}

/** [KH, KW, I, O] → [(KH − 1)·dh + 1, (KW − 1)·dw + 1, I, O], zeros between the taps. */
export function spreadFilter(filter: Float32Array, shape: readonly number[], [dh, dw]: Pair): { values: Float32Array; shape: number[] } {
  const [KH, KW, I, O] = shape as [number, number, number, number];
  const EH = (KH - 1) * dh + 1, EW = (KW - 1) * dw + 1, inner = I * O;
  const out = new Float32Array(EH * EW * inner);
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) out.set(filter.subarray((i * KW + j) * inner, (i * KW + j + 1) * inner), (i * dh * EW + j * dw) * inner);
  }
  return { values: out, shape: [EH, EW, I, O] };
}

/** The inverse read: the taps of a spread filter (or its gradient). */
export function gatherTaps(spread: Float32Array, shape: readonly number[], [dh, dw]: Pair): Float32Array {
  const [KH, KW, I, O] = shape as [number, number, number, number];
  const EW = (KW - 1) * dw + 1, inner = I * O;
  const out = new Float32Array(KH * KW * inner);
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) out.set(spread.subarray((i * dh * EW + j * dw) * inner, (i * dh * EW + j * dw + 1) * inner), (i * KW + j) * inner);
  }
  return out;
}

/** max |got − want| ÷ max |want| (∞ on a length mismatch or a NaN). */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (Number.isNaN(d)) return Infinity;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff === 0 ? 0 : diff / Math.max(scale, 1e-6);
}

interface Output { values: Float32Array; shape: number[] }

/** runKernel on the current backend, read back and disposed. */
function runKernel(tf: Tf, name: string, inputs: Record<string, TF.Tensor>, attrs: Record<string, unknown>): Output {
  const out = tf.engine().runKernel(name, inputs as never, attrs as never) as TF.Tensor;
  try {
    return { values: (out.dataSync() as Float32Array).slice(), shape: out.shape.slice() };
  } finally {
    out.dispose();
  }
}

/**
 * One kernel of one case on the current backend. With `spread`, the filter is spread out and the call
 * is undilated (the reference); without, the filter and dilations go in as they are (the plugin's call).
 */
function callKernel(tf: Tf, kernel: KernelName, c: ConvCase, spread: boolean): Output {
  const filter = spread ? spreadFilter(c.filter, c.filterShape, c.dilations) : { values: c.filter, shape: c.filterShape };
  const dilations: Pair = spread ? [1, 1] : c.dilations;
  const dataFormat = c.nchw ? "NCHW" : "NHWC";
  const common = { strides: c.strides, pad: c.pad, dilations, dimRoundingMode: c.dimRoundingMode, ...(c.depthwise ? {} : { dataFormat }) };
  const tensors: TF.Tensor[] = [];
  const t = (v: Float32Array, shape: number[]) => {
    const tensor = tf.tensor(v, shape, "float32");
    tensors.push(tensor);
    return tensor;
  };
  try {
    switch (kernel) {
      case "Conv2D":
      case "DepthwiseConv2dNative":
        return runKernel(tf, kernel, { x: t(c.x, c.xShape), filter: t(filter.values, filter.shape) }, common);
      case "FusedConv2D":
      case "FusedDepthwiseConv2D": {
        const inputs: Record<string, TF.Tensor> = { x: t(c.x, c.xShape), filter: t(filter.values, filter.shape) };
        if (c.bias !== "none") inputs.bias = t(c.biasValues, [c.biasValues.length]);
        if (c.activation === "prelu") inputs.preluActivationWeights = t(c.prelu, [c.prelu.length]);
        return runKernel(tf, kernel, inputs, { ...common, activation: c.activation, leakyreluAlpha: c.leakyreluAlpha });
      }
      case "Conv2DBackpropInput":
      case "DepthwiseConv2dNativeBackpropInput":
        return runKernel(tf, kernel, { dy: t(c.dy, c.outShape), filter: t(filter.values, filter.shape) }, { ...common, inputShape: c.xShape });
      case "Conv2DBackpropFilter":
      case "DepthwiseConv2dNativeBackpropFilter": {
        const out = runKernel(tf, kernel, { x: t(c.x, c.xShape), dy: t(c.dy, c.outShape) }, { ...common, filterShape: filter.shape });
        return spread ? { values: gatherTaps(out.values, c.filterShape, c.dilations), shape: c.filterShape.slice() } : out;
      }
    }
    throw new Error(`no call for ${String(kernel)}`);
  } finally {
    for (const tensor of tensors) tensor.dispose();
  }
}

function describeCase(c: ConvCase): string {
  return `case ${c.id} ${JSON.stringify({
    x: c.xShape, filter: c.filterShape, nchw: c.nchw, strides: c.strides, dilations: c.dilations, pad: c.pad,
    dimRoundingMode: c.dimRoundingMode, activation: c.activation, bias: c.bias, preluScalar: c.preluScalar,
  })}`;
}

/** The tensors of the gradient checks: x, a filter, and r (the loss is sum(conv(x, filter) · r)). */
interface GradCase {
  name: string;
  depthwise: boolean;
  xShape: number[];
  filterShape: number[];
  strides: number;
  pad: "same" | "valid";
  dilations: Pair;
  x: Float32Array;
  filter: Float32Array;
  r: Float32Array;
}

function gradCases(tf: Tf, seed: number): GradCase[] {
  const rnd = random(seed ^ 0x5bd1e995);
  const make = (name: string, depthwise: boolean, xShape: number[], filterShape: number[], strides: number, pad: "same" | "valid", dilations: Pair): GradCase => {
    const info = tf.backend_util.computeConv2DInfo(xShape as never, filterShape as never, strides, dilations, pad, undefined, depthwise);
    return { name, depthwise, xShape, filterShape, strides, pad, dilations, x: values(rnd, size(xShape)), filter: values(rnd, size(filterShape)), r: values(rnd, size(info.outShape)) };
  };
  return [
    make("conv2d 3×3 same", false, [2, 7, 6, 3], [3, 3, 3, 4], 1, "same", [1, 1]),
    make("conv2d 3×2 stride 2 valid", false, [2, 9, 8, 5], [3, 2, 5, 6], 2, "valid", [1, 1]),
    make("conv2d 3×3 dilation 2 same", false, [2, 9, 9, 3], [3, 3, 3, 4], 1, "same", [2, 2]),
    make("conv2d 2×3 dilations [3, 2] valid", false, [1, 10, 9, 2], [2, 3, 2, 5], 1, "valid", [3, 2]),
    make("depthwiseConv2d 3×3 ×2 same", true, [2, 7, 7, 3], [3, 3, 3, 2], 1, "same", [1, 1]),
    make("depthwiseConv2d 3×3 dilation 2 same", true, [2, 9, 8, 4], [3, 3, 4, 1], 1, "same", [2, 2]),
    make("depthwiseConv2d 2×2 ×3 dilation 3 valid", true, [1, 8, 8, 2], [2, 2, 2, 3], 1, "valid", [3, 3]),
  ];
}

/** dLoss/dx and dLoss/dfilter through tfjs's ops and gradients on the current backend; `spread` as in callKernel. */
function gradients(tf: Tf, g: GradCase, spread: boolean): { dx: Float32Array; dfilter: Float32Array } {
  return tf.tidy(() => {
    const filter = spread ? spreadFilter(g.filter, g.filterShape, g.dilations) : { values: g.filter, shape: g.filterShape };
    const dilations: Pair = spread ? [1, 1] : g.dilations;
    const r = tf.tensor(g.r);
    const loss = (x: TF.Tensor, w: TF.Tensor) => {
      const y = g.depthwise
        ? tf.depthwiseConv2d(x as TF.Tensor4D, w as TF.Tensor4D, g.strides, g.pad, "NHWC", dilations)
        : tf.conv2d(x as TF.Tensor4D, w as TF.Tensor4D, g.strides, g.pad, "NHWC", dilations);
      return tf.sum(tf.mul(y, tf.reshape(r, y.shape)));
    };
    const [dx, dw] = tf.grads(loss)([tf.tensor(g.x, g.xShape), tf.tensor(filter.values, filter.shape)]) as [TF.Tensor, TF.Tensor];
    const dwValues = (dw.dataSync() as Float32Array).slice();
    return { dx: (dx.dataSync() as Float32Array).slice(), dfilter: spread ? gatherTaps(dwValues, g.filterShape, g.dilations) : dwValues };
  });
}

/** tf.grad(f => tf.conv2d(x, f, 1, "same").sum())(filter), as a user writes it: the plain case of the gradient checks. */
function filterGradOfSum(tf: Tf, g: GradCase): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(g.x, g.xShape as [number, number, number, number]);
    const dw = tf.grad((f: TF.Tensor) => tf.conv2d(x, f as TF.Tensor4D, 1, "same").sum())(tf.tensor(g.filter, g.filterShape));
    return (dw.dataSync() as Float32Array).slice();
  });
}

/** What a call throws, or undefined. */
function thrown(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return String((error as Error)?.message ?? error);
  }
}

/** The training data: 16 images 16×16×3 and 3 classes that depend on them (the brightest third). */
function trainingData(tf: Tf): { xs: TF.Tensor; ys: TF.Tensor } {
  const rnd = random(20240611);
  const n = 16, pixels = 16 * 16 * 3;
  const images = values(rnd, n * pixels);
  const labels = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const third = [0, 0, 0];
    for (let p = 0; p < pixels; p++) third[Math.floor((p % 48) / 16)]! += images[i * pixels + p]!;
    labels[i * 3 + third.indexOf(Math.max(...third))] = 1;
  }
  return { xs: tf.tensor(images, [n, 16, 16, 3]), ys: tf.tensor(labels, [n, 3]) };
}

/**
 * A tiny network — conv2d 3×3 (16, relu) → maxPooling2d → depthwiseConv2d 3×3 ×2 → flatten → dense
 * (softmax) — built with seeded initializers, trained `epochs` steps of SGD on one batch of 16 (no
 * shuffle); the per-epoch losses and the final weights.
 */
async function train(tf: Tf, epochs = 5): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 16, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "valid", depthwiseInitializer: init(2) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: init(3) }),
    ],
  });
  const { xs, ys } = trainingData(tf);
  try {
    model.compile({ optimizer: tf.train.sgd(0.3), loss: "categoricalCrossentropy" });
    const history = await model.fit(xs, ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });
    const losses = (history.history.loss as number[]).map(Number);
    const weights = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
    return { losses, weights };
  } finally {
    model.dispose();
    xs.dispose();
    ys.dispose();
  }
}

/**
 * dw and dx of a 3×3 conv, 16 → 32 channels on 4 images 24×24: 21 MFLOP each, ten times what the
 * library takes to the worker pool (training's own calls are near that threshold).
 */
function largeBackprop(tf: Tf): Float32Array[] {
  const rnd = random(77);
  return tf.tidy(() => {
    const x = tf.tensor(values(rnd, 4 * 24 * 24 * 16), [4, 24, 24, 16]);
    const filter = tf.tensor(values(rnd, 3 * 3 * 16 * 32), [3, 3, 16, 32]);
    const dy = tf.tensor(values(rnd, 4 * 24 * 24 * 32), [4, 24, 24, 32]);
    const attrs = { strides: [1, 1], pad: "same", dataFormat: "NHWC" };
    return [
      runKernel(tf, "Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape: filter.shape }).values,
      runKernel(tf, "Conv2DBackpropInput", { dy, filter }, { ...attrs, inputShape: x.shape }).values,
    ];
  });
}

const sameBits = (a: Float32Array[], b: Float32Array[]) =>
  a.length === b.length && a.every((w, i) => w.length === b[i]!.length && w.every((v, j) => Object.is(v, b[i]![j])));

/**
 * Runs every check; never throws for a failed check (each is a record in the report), only for a
 * broken set-up (a backend that does not start).
 */
export async function runTfjsSuite(tf: Tf, register: Register, options: TfjsSuiteOptions): Promise<TfjsReport> {
  const started = Date.now();
  // tfjs's own namespace is a TfjsNamespace: no cast.
  const ns: TfjsNamespace = tf;
  const count = options.cases ?? 30;
  const backends = options.backends;
  const checks: TfjsCheck[] = [];
  const worst: Record<string, number> = {};
  const losses: Record<string, number[]> = {};
  let simd = "";
  let section: TfjsGroup = "gradients";
  const check = (name: string, passed: boolean, detail = "", group = section) => checks.push({ group, name, passed, detail });
  /** A check that must not throw: a throw is its failure. */
  const attempt = async (name: string, fn: () => unknown | Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      check(name, false, `threw ${String((error as Error)?.stack ?? error)}`);
    }
  };
  const use = async (backend: TfjsBackend) => {
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend("${backend}") failed`);
    await tf.ready();
  };

  // 1. References: tfjs's own cpu kernels and gradients, nothing of the plugin registered yet.
  await use("cpu");
  const regular = convCases(tf, options.seed, count, false);
  const depthwise = convCases(tf, options.seed + 1, count, true);
  const kernelCases: [KernelName, ConvCase[]][] = [
    ...REGULAR.map((k) => [k, regular] as [KernelName, ConvCase[]]),
    ...DEPTHWISE.map((k) => [k, depthwise] as [KernelName, ConvCase[]]),
  ];
  const references = new Map<string, Output>();
  for (const [kernel, cases] of kernelCases) for (const c of cases) references.set(`${kernel} ${c.id}`, callKernel(tf, kernel, c, true));
  const grads = gradCases(tf, options.seed);
  const gradReferences = grads.map((g) => gradients(tf, g, true));
  const sumReference = filterGradOfSum(tf, grads[0]!);
  const originals = new Map<string, unknown>();
  for (const backend of backends) for (const k of PLUGIN_KERNELS) originals.set(`${k}@${backend}`, tf.getKernel(k, backend)?.kernelFunc);
  const originalGradients = ["Conv2D", "DepthwiseConv2dNative"].map((k) => tf.getGradient(k)?.gradFunc);
  const referenceTraining = await train(tf);
  losses["tfjs-cpu, no plugin"] = referenceTraining.losses;

  // What tfjs does alone: its gradients refuse dilations; on wasm a conv's filter gradient has no kernel and NCHW no forward.
  const dilated = grads.find((g) => !g.depthwise && g.dilations[0] > 1)!;
  const dilatedError = thrown(() => gradients(tf, dilated, false));
  check("tfjs alone: the gradient of a dilated conv2d throws on cpu", /dilation/i.test(dilatedError ?? ""), dilatedError ?? "did not throw");
  const nchwCase = regular.find((c) => c.nchw);
  if (backends.includes("wasm")) {
    await use("wasm");
    const plain = thrown(() => filterGradOfSum(tf, grads[0]!));
    check("tfjs alone: tf.grad(f => tf.conv2d(x, f, 1, \"same\").sum()) throws on wasm",
      /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/.test(plain ?? ""), plain ?? "did not throw");
    const error = thrown(() => gradients(tf, grads[0]!, false));
    check("tfjs alone: tf.grad of conv2d w.r.t. the filter throws on wasm (no Conv2DBackpropFilter)",
      /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/.test(error ?? ""), error ?? "did not throw");
    if (nchwCase) {
      const nchwError = thrown(() => callKernel(tf, "Conv2D", nchwCase, false));
      check("tfjs alone: an NCHW Conv2D throws on wasm", /dataFormat/.test(nchwError ?? ""), nchwError ?? "did not throw", "kernels");
    }
  }

  section = "kernels";
  // 2. The plugin for every call (forward: "replace"): each kernel, each case, each backend, against the references.
  let registration: TfjsRegistration | undefined;
  await attempt("the plugin's kernels against tfjs-cpu's own", async () => {
    registration = await register(ns, { backends, forward: "replace" });
    // The convolution kernels checked below, and MaxPoolGrad (test/tfjs/kernels.test.ts checks it; model.fit below runs it).
    const registered = [...PLUGIN_KERNELS, "MaxPoolGrad"].sort();
    check("registerTfjsKernels: backends and kernels", JSON.stringify(registration.backends) === JSON.stringify(backends)
      && backends.every((b) => JSON.stringify([...(registration!.kernels[b] ?? [])].sort()) === JSON.stringify(registered))
      && JSON.stringify(registration.gradients) === JSON.stringify(["Conv2D", "DepthwiseConv2dNative"]),
    JSON.stringify({ backends: registration.backends, kernels: registration.kernels, gradients: registration.gradients }));
    for (const backend of backends) {
      await use(backend);
      const tensorsBefore = tf.memory().numTensors;
      for (const [kernel, cases] of kernelCases) {
        const key = `${kernel}@${backend}`;
        let maxError = 0;
        const failures: string[] = [];
        for (const c of cases) {
          const want = references.get(`${kernel} ${c.id}`)!;
          let error: number;
          let note = "";
          try {
            const got = callKernel(tf, kernel, c, false);
            error = JSON.stringify(got.shape) === JSON.stringify(want.shape) ? relativeError(got.values, want.values) : Infinity;
            if (error === Infinity) note = ` shape ${JSON.stringify(got.shape)}, expected ${JSON.stringify(want.shape)}`;
          } catch (e) {
            error = Infinity;
            note = ` threw ${String((e as Error)?.message ?? e)}`;
          }
          maxError = Math.max(maxError, error);
          if (!(error <= TOLERANCE)) failures.push(`${describeCase(c)}: relative error ${error}${note}`);
        }
        worst[key] = maxError;
        check(`${key}: ${cases.length} random cases within ${TOLERANCE} of tfjs-cpu's own`, failures.length === 0,
          failures.length ? `${failures.length} failed; ${failures.slice(0, 3).join("; ")}` : `worst ${maxError.toExponential(2)}`);
      }
      check(`${backend}: the plugin's kernels leave no tfjs tensor behind`, tf.memory().numTensors === tensorsBefore,
        `${tf.memory().numTensors} tensors after, ${tensorsBefore} before`);
      // Gradients through tfjs's ops: undilated ones take tfjs's gradient and the plugin's backprop kernels, dilated ones the plugin's gradient.
      let plainDetail: string, plainPassed = false;
      try {
        const e = relativeError(filterGradOfSum(tf, grads[0]!), sumReference);
        plainPassed = e <= TOLERANCE;
        plainDetail = `relative error ${e.toExponential(2)}`;
      } catch (e) {
        plainDetail = `threw ${String((e as Error)?.message ?? e)}`;
      }
      check(`${backend}: tf.grad(f => tf.conv2d(x, f, 1, "same").sum()) equals tfjs-cpu's`, plainPassed, plainDetail, "gradients");
      grads.forEach((g, i) => {
        const want = gradReferences[i]!;
        let detail: string;
        let passed = false;
        try {
          const got = gradients(tf, g, false);
          const ex = relativeError(got.dx, want.dx), ew = relativeError(got.dfilter, want.dfilter);
          passed = ex <= TOLERANCE && ew <= TOLERANCE;
          detail = `dx ${ex.toExponential(2)}, dfilter ${ew.toExponential(2)}`;
        } catch (e) {
          detail = `threw ${String((e as Error)?.message ?? e)}`;
        }
        check(`${backend}: tf.grads of ${g.name} (x and filter) equal tfjs-cpu's`, passed, detail, "gradients");
      });
    }
  });

  section = "gradients";
  // 3. unregister() gives tfjs its own kernels and gradients back.
  await attempt("unregister", async () => {
    registration?.unregister();
    const restored = backends.every((b) => PLUGIN_KERNELS.every((k) => tf.getKernel(k, b)?.kernelFunc === originals.get(`${k}@${b}`)))
      && ["Conv2D", "DepthwiseConv2dNative"].every((k, i) => tf.getGradient(k)?.gradFunc === originalGradients[i]);
    check("unregister(): tfjs's own kernels and gradients are back", restored);
    if (backends.includes("wasm")) {
      await use("wasm");
      const error = thrown(() => gradients(tf, grads[0]!, false));
      check("after unregister(): tf.grad of conv2d throws on wasm again", /Conv2DBackpropFilter/.test(error ?? ""), error ?? "did not throw");
    }
  });

  section = "training";
  // 4. The default registration (forward: "auto"): NCHW forwards on wasm are the plugin's; model.fit trains.
  await attempt("registerTfjsKernels(tf) and model.fit", async () => {
    const defaults = await register(ns);
    try {
      check("registerTfjsKernels(tf): every backend tfjs has", backends.every((b) => defaults.backends.includes(b)), JSON.stringify(defaults.backends));
      simd = defaults.runtime.simd;
      if (backends.includes("wasm")) {
        await use("wasm");
        const nchw = regular.filter((c) => c.nchw);
        const errors = nchw.flatMap((c) => (["Conv2D", "FusedConv2D"] as const).map((k) => {
          try {
            return relativeError(callKernel(tf, k, c, false).values, references.get(`${k} ${c.id}`)!.values);
          } catch {
            return Infinity;
          }
        }));
        const maxError = Math.max(0, ...errors);
        check(`wasm, forward "auto": ${nchw.length} NCHW cases of Conv2D and FusedConv2D (the plugin's) equal tfjs-cpu's`, maxError <= TOLERANCE,
          `worst ${maxError}`, "kernels");
      }
      for (const backend of backends) {
        await use(backend);
        const run = await train(tf);
        losses[`${backend}, registerTfjsKernels(tf)`] = run.losses;
        const first = run.losses[0]!, last = run.losses[run.losses.length - 1]!;
        check(`${backend}: model.fit trains (the loss decreases)`, last < first * 0.9 && run.losses.every(Number.isFinite), JSON.stringify(run.losses));
        const gap = Math.max(...run.losses.map((l, i) => Math.abs(l - referenceTraining.losses[i]!) / Math.abs(referenceTraining.losses[i]!)));
        check(`${backend}: model.fit's losses equal tfjs-cpu's own training within 1e-4`, gap <= 1e-4, `largest relative gap ${gap.toExponential(2)}`);
      }
    } finally {
      defaults.unregister();
    }
  });

  // 5. Threads: the same training with the pool gives one thread's bits (the fixed build in both).
  section = "threads";
  const threads = options.threads ?? 1;
  if (threads > 1) {
    await attempt(`threads: ${threads}`, async () => {
      for (const backend of backends) {
        await use(backend);
        const runs: { losses: number[]; weights: Float32Array[] }[] = [];
        const kernelBits: Float32Array[][] = [];
        for (const t of [1, threads]) {
          const r = await register(ns, { threads: t, simd: "fixed" });
          try {
            check(`registerTfjsKernels(tf, { threads: ${t}, simd: "fixed" }): the runtime has ${t} thread(s)`, r.runtime.threads === t && r.runtime.simd === "fixed",
              `threads ${r.runtime.threads}, simd ${r.runtime.simd}`);
            runs.push(await train(tf));
            kernelBits.push(largeBackprop(tf));
          } finally {
            r.unregister();
          }
        }
        const [one, many] = runs as [typeof runs[0], typeof runs[0]];
        const [bitsOne, bitsMany] = kernelBits as [Float32Array[], Float32Array[]];
        check(`${backend}: Conv2DBackpropFilter and Conv2DBackpropInput of a layer past the pool's threshold: ${threads} threads give 1 thread's bits`,
          sameBits(bitsOne, bitsMany), `${bitsOne.length} and ${bitsMany.length} outputs`);
        losses[`${backend}, 1 thread, fixed`] = one.losses;
        losses[`${backend}, ${threads} threads, fixed`] = many.losses;
        check(`${backend}: model.fit with ${threads} threads gives 1 thread's losses and weights bit for bit`,
          one.losses.every((l, i) => Object.is(l, many.losses[i])) && sameBits(one.weights, many.weights),
          `${JSON.stringify(one.losses)} vs ${JSON.stringify(many.losses)}`);
        check(`${backend}: the threaded training still trains`, many.losses[many.losses.length - 1]! < many.losses[0]! * 0.9, JSON.stringify(many.losses));
      }
    });
  }

  return {
    runtime: options.runtime, seed: options.seed, cases: count, backends, simd, checks, worst, losses,
    passed: checks.length > 0 && checks.every((c) => c.passed), ms: Date.now() - started,
  };
}
