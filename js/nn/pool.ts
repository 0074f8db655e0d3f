// Pooling, functions and layers: maxPool2d, avgPool2d and adaptiveAvgPool2d with their backward, and MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (PyTorch's semantics).

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, requireGradShape, requireOptionsObject, requireRank } from "../core/checks.js";
import { shapeText } from "../core/shape.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { ParameterFreeLayer } from "./layer.js";

type Pair = number | readonly [number, number];

/** Options of maxPool2d and MaxPool2d (torch.nn.MaxPool2d's). */
export interface MaxPool2dOptions {
  /** The window: KH = KW, or [KH, KW]. */
  kernelSize: Pair;
  /** Step between windows (default: the kernel size). */
  stride?: Pair;
  /** Implicit −∞ padding on each side, at most half the dilated window (default 0). */
  pad?: Pair;
  /** Spacing between a window's taps (default 1). */
  dilation?: Pair;
  /** Round the output size up, as PyTorch's ceil_mode (a window that would start in the right padding is dropped). Default false. */
  ceilMode?: boolean;
}

/** Options of avgPool2d and AvgPool2d (torch.nn.AvgPool2d's). */
export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  /** Implicit zero padding on each side, at most half the window (default 0). */
  pad?: Pair;
  ceilMode?: boolean;
  /** Count the padding's zeros in each window's divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
}

interface Pooling {
  planes: number; H: number; W: number; outH: number; outW: number;
  KH: number; KW: number; sH: number; sW: number; pH: number; pW: number; dH: number; dW: number;
  countIncludePad: boolean;
  outShape: number[];
}

const MAX_KEYS = ["kernelSize", "stride", "pad", "dilation", "ceilMode"];
const AVG_KEYS = ["kernelSize", "stride", "pad", "ceilMode", "countIncludePad"];

/** A size option: a positive (or, min 0, non-negative) integer for both axes, or [h, w]. */
function pairOf(value: unknown, fallback: [number, number] | undefined, min: number, where: string, argument: string, code: ErrorCode): [number, number] {
  if (value === undefined && fallback) return fallback;
  const values = Array.isArray(value) ? Array.from(value as unknown[]) : [value, value];
  if (values.length !== 2 || !values.every((v) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= 2 ** 28)) {
    fail(code, where, argument,
      `a ${min > 0 ? "positive" : "non-negative"} integer or [height, width] of them`, describe(value));
  }
  return [values[0] as number, values[1] as number];
}

/** PyTorch's pooling output size along one axis (pooling_output_shape), with its ceil-mode rule. */
function outputSize(size: number, kernel: number, pad: number, stride: number, dilation: number, ceil: boolean): number {
  const span = dilation * (kernel - 1) + 1;
  const numerator = size + 2 * pad - span + (ceil ? stride - 1 : 0);
  let out = Math.floor(numerator / stride) + 1;
  // In ceil mode the last window must start inside the input or its left padding.
  if (ceil && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** Validates x and the options of a pooling and derives its output. */
function pooling(x: Tensor, options: unknown, keys: readonly string[], max: boolean, where: string): Pooling {
  requireRank(x, 4, "[N, C, H, W]", where, "x");
  const opts = requireOptionsObject(options as object, keys, where) as Partial<MaxPool2dOptions & AvgPool2dOptions>;
  const [KH, KW] = pairOf(opts.kernelSize, undefined, 1, where, "options.kernelSize", ErrorCode.DIMENSION);
  const [sH, sW] = pairOf(opts.stride, [KH, KW], 1, where, "options.stride", ErrorCode.STRIDE);
  const [dH, dW] = max ? pairOf(opts.dilation, [1, 1], 1, where, "options.dilation", ErrorCode.DILATION) : [1, 1];
  const [pH, pW] = pairOf(opts.pad, [0, 0], 0, where, "options.pad", ErrorCode.PAD);
  const ceil = booleanOption(opts.ceilMode, false, where, "options.ceilMode");
  const countIncludePad = booleanOption(opts.countIncludePad, true, where, "options.countIncludePad");
  // PyTorch: a pad of more than half the (dilated) window would leave windows of padding alone.
  const limitH = Math.floor((dH * (KH - 1) + 1) / 2), limitW = Math.floor((dW * (KW - 1) + 1) / 2);
  if (pH > limitH || pW > limitW) {
    fail(ErrorCode.PAD, where, "options.pad", `at most half the ${max ? "dilated " : ""}window on each axis (${limitH}, ${limitW})`, describe(opts.pad));
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const outH = outputSize(H, KH, pH, sH, dH, ceil), outW = outputSize(W, KW, pW, sW, dW, ceil);
  if (outH < 1 || outW < 1) {
    fail(ErrorCode.KERNEL_TOO_LARGE, where, "x", `an input no smaller than the ${max ? "dilated " : ""}window with its padding`,
      `${H}×${W} ${shapeText(x.shape)} (the output would be ${outH}×${outW})`);
  }
  return { planes: N * C, H, W, outH, outW, KH, KW, sH, sW, pH, pW, dH, dW, countIncludePad, outShape: [N, C, outH, outW] };
}

function maxForward(x: Tensor, options: MaxPool2dOptions, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const p = pooling(x, options, MAX_KEYS, true, where);
  const y = allocateTensor(runtime, p.outShape, where);
  runKernel([y], () => runtime.kernels.maxPool2dForward(xAddress, y._address, p.planes, p.H, p.W, p.outH, p.outW, p.KH, p.KW, p.sH, p.sW, p.pH, p.pW, p.dH, p.dW));
  return y;
}

function maxGradient(dy: Tensor, x: Tensor, options: MaxPool2dOptions, where: string): Tensor {
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const p = pooling(x, options, MAX_KEYS, true, where);
  requireGradShape(dy, p.outShape, where);
  const dx = allocateTensor(runtime, x.shape, where);
  runKernel([dx], () => runtime.kernels.maxPool2dBackward(xAddress, dyAddress, dx._address, p.planes, p.H, p.W, p.outH, p.outW,
    p.KH, p.KW, p.sH, p.sW, p.pH, p.pW, p.dH, p.dW));
  return dx;
}

function avgForward(x: Tensor, options: AvgPool2dOptions, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const p = pooling(x, options, AVG_KEYS, false, where);
  const y = allocateTensor(runtime, p.outShape, where);
  runKernel([y], () => runtime.kernels.avgPool2dForward(xAddress, y._address, p.planes, p.H, p.W, p.outH, p.outW, p.KH, p.KW, p.sH, p.sW, p.pH, p.pW,
    p.countIncludePad));
  return y;
}

function avgGradient(dy: Tensor, x: Tensor, options: AvgPool2dOptions, where: string): Tensor {
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  tensorAddress(x, runtime, where, "x");
  const p = pooling(x, options, AVG_KEYS, false, where);
  requireGradShape(dy, p.outShape, where);
  const dx = allocateTensor(runtime, x.shape, where);
  runKernel([dx], () => runtime.kernels.avgPool2dBackward(dyAddress, dx._address, p.planes, p.H, p.W, p.outH, p.outW, p.KH, p.KW, p.sH, p.sW, p.pH, p.pW,
    p.countIncludePad));
  return dx;
}

/** [Ho, Wo] of an adaptive pooling: a positive integer for both, or [Ho, Wo]. */
function adaptiveSize(x: Tensor, outputSize: unknown, where: string): [number, number] {
  requireRank(x, 4, "[N, C, H, W]", where, "x");
  return pairOf(outputSize, undefined, 1, where, "outputSize", ErrorCode.DIMENSION);
}

function adaptiveForward(x: Tensor, outputSize: Pair, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const [outH, outW] = adaptiveSize(x, outputSize, where);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const y = allocateTensor(runtime, [N, C, outH, outW], where);
  runKernel([y], () => runtime.kernels.adaptiveAvgPool2dForward(xAddress, y._address, N * C, H, W, outH, outW));
  return y;
}

function adaptiveGradient(dy: Tensor, x: Tensor, outputSize: Pair, where: string): Tensor {
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  tensorAddress(x, runtime, where, "x");
  const [outH, outW] = adaptiveSize(x, outputSize, where);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  requireGradShape(dy, [N, C, outH, outW], where);
  const dx = allocateTensor(runtime, x.shape, where);
  runKernel([dx], () => runtime.kernels.adaptiveAvgPool2dBackward(dyAddress, dx._address, N * C, H, W, outH, outW));
  return dx;
}

/**
 * y = the maximum over each window of x [N, C, H, W] (torch.nn.functional.max_pool2d): windows of
 * kernelSize, stride (default kernelSize) apart, over x padded by pad (−∞) on each side, taps dilation
 * apart; ceilMode rounds the output size up. NaN in a window wins, as in PyTorch.
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  return maxForward(x, options, "maxPool2d");
}

/** dL/dx: each dy goes to its window's first maximum in x (summed where windows share one); x must be the forward input. */
export function maxPool2dBackward(dy: Tensor, x: Tensor, options: MaxPool2dOptions): Tensor {
  return maxGradient(dy, x, options, "maxPool2dBackward");
}

/**
 * y = the mean over each window (torch.nn.functional.avg_pool2d): the divisor counts the padding's
 * zeros with countIncludePad (default), only the input's values without; a ceil-mode window that runs
 * past the padding is clipped to it.
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  return avgForward(x, options, "avgPool2d");
}

/** dL/dx: each dy spread over its (clipped) window, divided as the forward divided. */
export function avgPool2dBackward(dy: Tensor, x: Tensor, options: AvgPool2dOptions): Tensor {
  return avgGradient(dy, x, options, "avgPool2dBackward");
}

/**
 * y [N, C, Ho, Wo] = the mean of x over windows rows ⌊i·H/Ho⌋ to ⌈(i + 1)·H/Ho⌉ (and likewise columns),
 * as torch.nn.functional.adaptive_avg_pool2d; outputSize [1, 1] is global average pooling.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return adaptiveForward(x, outputSize, "adaptiveAvgPool2d");
}

/** dL/dx: each dy spread evenly over its window. */
export function adaptiveAvgPool2dBackward(dy: Tensor, x: Tensor, outputSize: Pair): Tensor {
  return adaptiveGradient(dy, x, outputSize, "adaptiveAvgPool2dBackward");
}

/** The max-pooling layer (nn.MaxPool2d); the options are checked at each forward, against its input. */
export class MaxPool2d extends ParameterFreeLayer {
  readonly options: Readonly<MaxPool2dOptions>;
  constructor(options: MaxPool2dOptions) {
    const opts = frozenOptions(options, MAX_KEYS, "MaxPool2d");
    super("MaxPool2d", (x, where) => maxForward(x, opts, where), (dy, x, where) => maxGradient(dy, x, opts, where));
    this.options = opts;
  }
}

/** The average-pooling layer (nn.AvgPool2d). */
export class AvgPool2d extends ParameterFreeLayer {
  readonly options: Readonly<AvgPool2dOptions>;
  constructor(options: AvgPool2dOptions) {
    const opts = frozenOptions(options, AVG_KEYS, "AvgPool2d");
    super("AvgPool2d", (x, where) => avgForward(x, opts, where), (dy, x, where) => avgGradient(dy, x, opts, where));
    this.options = opts;
  }
}

/** The adaptive average-pooling layer (nn.AdaptiveAvgPool2d); [1, 1] is global average pooling. */
export class AdaptiveAvgPool2d extends ParameterFreeLayer {
  readonly outputSize: readonly [number, number];
  constructor(outputSize: Pair) {
    const size = pairOf(outputSize, undefined, 1, "AdaptiveAvgPool2d", "outputSize", ErrorCode.DIMENSION);
    super("AdaptiveAvgPool2d", (x, where) => adaptiveForward(x, size, where), (dy, x, where) => adaptiveGradient(dy, x, size, where));
    this.outputSize = Object.freeze(size);
  }
}

/**
 * A layer's options, checked now as far as they can be without an input (a probe 2^20 × 2^20 input
 * takes any window) and frozen, so that a bad one fails at construction rather than at forward().
 */
function frozenOptions<T extends object>(options: T, keys: readonly string[], where: string): Readonly<T> {
  const opts = requireOptionsObject(options, keys, where);
  const probe = { shape: [1, 1, 1 << 20, 1 << 20] } as unknown as Tensor;
  pooling(probe, opts, keys, keys === MAX_KEYS, where);
  return Object.freeze({ ...opts }) as Readonly<T>;
}
