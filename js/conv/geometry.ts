// Conv2d options and shapes → one validated geometry (stride, pads, dilation, groups, output size), and the block the kernels read it from.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { checkOptionsObject, positiveInteger } from "../core/checks.js";
import { shapeText } from "../core/shape.js";
import type { Runtime } from "../core/runtime.js";

/** A pad given per side. Missing sides are 0. */
export interface PadSides {
  top?: number;
  bottom?: number;
  left?: number;
  right?: number;
}

/** Options shared by conv2d, conv2dBackward, Conv2d and gradcheckConv2d. */
export interface Conv2dOptions {
  /** Step between output positions: one number for both axes or [height, width]. Default 1. */
  stride?: number | readonly [number, number];
  /**
   * Zero padding: a number for all sides, [height, width] (top = bottom, left = right), per side, or
   * "same" (Ho = ceil(H / stride), the odd pixel at the bottom/right, TensorFlow's rule) or "valid" (none).
   * Default 0.
   */
  pad?: number | readonly [number, number] | PadSides | "same" | "valid";
  /** Spacing between kernel taps: one number or [height, width]. Default 1. */
  dilation?: number | readonly [number, number];
  /** Split C and F into this many independent blocks; groups = C is depthwise. Default 1. */
  groups?: number;
  /**
   * How forward and dx are computed: "gemm" (im2col GEMM, or the layer's direct kernel), "winograd"
   * (F(2×2, 3×3): 3×3, stride 1, groups 1 only, dilated too; dx too where no pad exceeds the dilated span)
   * or "auto" (Winograd where it is faster and its error within the bounds docs/kernels.md states).
   * Non-finite weights always take the GEMM. dw and db are the same on every algorithm. Default "auto".
   */
  algorithm?: ConvAlgorithm;
}

/** The algorithms a convolution may be forced onto (Conv2dOptions.algorithm). */
export type ConvAlgorithm = "auto" | "gemm" | "winograd";

/** The geometry's algorithm field, as assembly/geometry.ts numbers it. */
export const ALGORITHMS: readonly ConvAlgorithm[] = ["auto", "gemm", "winograd"];

/**
 * Field order of the geometry block the kernels read (assembly/geometry.ts, ConvGeometry): one i32 each.
 * This list is the JS side of that contract; init() checks the module's GEOMETRY_BYTES against its length.
 */
export const GEOMETRY_FIELDS = [
  "batch", "inChannels", "inHeight", "inWidth",
  "outChannels", "kernelHeight", "kernelWidth",
  "strideHeight", "strideWidth",
  "padTop", "padBottom", "padLeft", "padRight",
  "dilationHeight", "dilationWidth",
  "groups", "outHeight", "outWidth", "algorithm",
] as const;

export type ConvGeometry = { readonly [K in (typeof GEOMETRY_FIELDS)[number]]: number };

/** The keys of Conv2dOptions. */
export const CONV_OPTION_KEYS = ["stride", "pad", "dilation", "groups", "algorithm"] as const;
const PAD_FORMS = 'a number, [height, width], {top, bottom, left, right}, "same" or "valid"';
/** Keeps every index the kernels form (i32) in range: padded sizes stay below 2^31. */
const MAX_STEP = 2 ** 28;

/** The convolution options among a larger options object (a layer's, gradcheck's config), unchecked. */
export function pickConvOptions(options: Partial<Conv2dOptions>): Conv2dOptions {
  const picked: Record<string, unknown> = {};
  for (const key of CONV_OPTION_KEYS) if (options[key] !== undefined) picked[key] = options[key];
  return picked as Conv2dOptions;
}

/** A kernel size option: KH = KW, or [KH, KW], positive integers (ERR_DIMENSION otherwise). */
export function kernelSizeOption(value: unknown, where: string, argument: string): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) fail(ErrorCode.DIMENSION, where, argument, "a positive integer or [height, width] of them", describe(value));
    return [positiveInteger(value[0], where, `${argument}[0]`), positiveInteger(value[1], where, `${argument}[1]`)];
  }
  const size = positiveInteger(value, where, argument);
  return [size, size];
}

/**
 * Validates everything about a convolution except the tensors' identity, and derives Ho and Wo.
 * `named` says how errors name the shapes: "tensors" (x.shape[1], the default) or "shapes" (xShape[1],
 * for conv2dOutputShape, which takes plain arrays).
 */
export function convGeometry(
  inputShape: readonly number[],
  weightShape: readonly number[],
  options: Conv2dOptions | null | undefined,
  where: string,
  named: "tensors" | "shapes" = "tensors",
): ConvGeometry {
  const [x, w] = named === "tensors" ? ["x", "w"] : ["xShape", "wShape"];
  const [xShape, wShape] = named === "tensors" ? ["x.shape", "w.shape"] : ["xShape", "wShape"];
  if (!Array.isArray(inputShape)) fail(ErrorCode.DIMENSION, where, x, "an array [N, C, H, W] of positive integers", describe(inputShape));
  if (!Array.isArray(weightShape)) fail(ErrorCode.DIMENSION, where, w, "an array [F, C / groups, KH, KW] of positive integers", describe(weightShape));
  if (inputShape.length !== 4) {
    fail(ErrorCode.RANK, where, x, "a rank-4 tensor [N, C, H, W]", `rank ${inputShape.length} ${describe([...inputShape])}`);
  }
  if (weightShape.length !== 4) {
    fail(ErrorCode.RANK, where, w, "a rank-4 tensor [F, C / groups, KH, KW]", `rank ${weightShape.length} ${describe([...weightShape])}`);
  }
  checkDimensions(inputShape, where, xShape);
  checkDimensions(weightShape, where, wShape);
  const opts = checkOptionsObject(options, CONV_OPTION_KEYS, where, "options");
  const [strideHeight, strideWidth] = pairOption(opts.stride, 1, ErrorCode.STRIDE, where, "options.stride");
  const [dilationHeight, dilationWidth] = pairOption(opts.dilation, 1, ErrorCode.DILATION, where, "options.dilation");
  const groups = opts.groups ?? 1;
  if (typeof groups !== "number" || !Number.isInteger(groups) || groups < 1) {
    fail(ErrorCode.GROUPS, where, "options.groups", "a positive integer", describe(groups));
  }
  const [batch, inChannels, inHeight, inWidth] = inputShape as [number, number, number, number];
  const [outChannels, weightChannels, kernelHeight, kernelWidth] = weightShape as [number, number, number, number];
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    fail(ErrorCode.GROUPS, where, "options.groups", `a divisor of both C = ${inChannels} and F = ${outChannels}`, String(groups));
  }
  if (weightChannels !== inChannels / groups) {
    // An input whose last axis matches the weights' channels is most likely NHWC (TensorFlow's layout).
    const nhwc = inputShape[3] === weightChannels * groups ? `; ${x}'s last axis is ${inputShape[3]}: is it NHWC? conv2d takes NCHW` : "";
    fail(ErrorCode.CHANNELS, where, w, `${wShape}[1] = C / groups = ${inChannels} / ${groups} = ${inChannels / groups}`,
      `${wShape}[1] = ${weightChannels} (${w} shape ${shapeText(weightShape)}, ${x} shape ${shapeText(inputShape)}${nhwc})`);
  }
  const effectiveKernelHeight = dilationHeight * (kernelHeight - 1) + 1;
  const effectiveKernelWidth = dilationWidth * (kernelWidth - 1) + 1;
  const [padTop, padBottom, padLeft, padRight] = pads(
    opts.pad, inHeight, inWidth, strideHeight, strideWidth, effectiveKernelHeight, effectiveKernelWidth, where,
  );
  const outHeight = Math.floor((inHeight + padTop + padBottom - effectiveKernelHeight) / strideHeight) + 1;
  const outWidth = Math.floor((inWidth + padLeft + padRight - effectiveKernelWidth) / strideWidth) + 1;
  if (outHeight < 1 || outWidth < 1) {
    fail(ErrorCode.KERNEL_TOO_LARGE, where, w,
      `a dilated kernel (${effectiveKernelHeight}×${effectiveKernelWidth}) no larger than the padded input ` +
        `(${inHeight + padTop + padBottom}×${inWidth + padLeft + padRight})`,
      `kernel ${kernelHeight}×${kernelWidth} with dilation ${dilationHeight}×${dilationWidth} (output would be ${outHeight}×${outWidth})`);
  }
  const algorithm = ALGORITHMS.indexOf(opts.algorithm ?? "auto");
  if (algorithm < 0) fail(ErrorCode.INVALID_OPTION, where, "options.algorithm", '"auto", "gemm" or "winograd"', describe(opts.algorithm));
  const geometry: ConvGeometry = {
    batch, inChannels, inHeight, inWidth, outChannels, kernelHeight, kernelWidth,
    strideHeight, strideWidth, padTop, padBottom, padLeft, padRight,
    dilationHeight, dilationWidth, groups, outHeight, outWidth, algorithm,
  };
  if (opts.algorithm === "winograd" && !winogradApplies(geometry)) {
    fail(ErrorCode.INVALID_OPTION, where, "options.algorithm",
      '"winograd" only for a 3×3 kernel at stride 1 and groups 1 (or "auto", "gemm")',
      `"winograd" with kernel ${kernelHeight}×${kernelWidth}, stride ${strideHeight}×${strideWidth}, groups ${groups}`);
  }
  return geometry;
}

/** The shapes F(2×2, 3×3) computes (assembly/conv2d/winograd.ts's winogradApplies, restated for the error). */
function winogradApplies(g: ConvGeometry): boolean {
  return g.kernelHeight === 3 && g.kernelWidth === 3 && g.strideHeight === 1 && g.strideWidth === 1 && g.groups === 1;
}

/** [N, F, Ho, Wo] for input shape [N, C, H, W] and weight shape [F, C / groups, KH, KW], with conv2d's checks. */
export function conv2dOutputShape(xShape: readonly number[], wShape: readonly number[], options?: Conv2dOptions): number[] {
  return outputShape(convGeometry(xShape, wShape, options, "conv2dOutputShape", "shapes"));
}

/** @internal Writes the geometry into the runtime's geometry slot, in the kernels' field order; returns its address. */
export function writeGeometry(runtime: Runtime, g: ConvGeometry): number {
  const view = new Int32Array(runtime.kernels.memory.buffer, runtime.geometrySlot, GEOMETRY_FIELDS.length);
  for (let i = 0; i < GEOMETRY_FIELDS.length; i++) view[i] = g[GEOMETRY_FIELDS[i]!];
  return runtime.geometrySlot;
}

/** [N, F, Ho, Wo]. */
export function outputShape(g: ConvGeometry): number[] {
  return [g.batch, g.outChannels, g.outHeight, g.outWidth];
}

/** 2·N·F·Ho·Wo·(C/groups)·KH·KW: the multiply-adds of one direction (forward, dx or dw), counted twice. */
export function convFlops(g: ConvGeometry): number {
  return 2 * g.batch * g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
}

function checkDimensions(shape: readonly number[], where: string, argument: string): void {
  // A loop, not forEach: forEach skips the holes of a sparse array ([2, , 6, 6]), which must fail too.
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
      fail(ErrorCode.DIMENSION, where, `${argument}[${i}]`, "a positive integer", describe(d));
    }
  }
}

/** A stride or dilation: a positive integer for both axes or [height, width] of them (fallback when undefined). */
export function pairOption(
  value: unknown, fallback: number, code: typeof ErrorCode.STRIDE | typeof ErrorCode.DILATION, where: string, argument: string,
): [number, number] {
  if (value === undefined) return [fallback, fallback];
  // Array.from turns holes into undefined, which every() then sees ([, 1] must fail).
  const values = Array.isArray(value) ? Array.from(value as unknown[]) : [value, value];
  if (values.length !== 2 || !values.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_STEP)) {
    fail(code, where, argument, "a positive integer (at most 2^28) or [height, width] of them", describe(value));
  }
  return [values[0] as number, values[1] as number];
}

function pads(
  value: unknown, inHeight: number, inWidth: number, strideHeight: number, strideWidth: number,
  kernelHeight: number, kernelWidth: number, where: string,
): [number, number, number, number] {
  const argument = "options.pad";
  const check = (v: unknown): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_STEP) {
      fail(ErrorCode.PAD, where, argument, "non-negative integers (at most 2^28)", describe(value));
    }
    return v;
  };
  if (value === undefined || value === "valid") return [0, 0, 0, 0];
  if (value === "same") {
    const [top, bottom] = samePads(inHeight, strideHeight, kernelHeight);
    const [left, right] = samePads(inWidth, strideWidth, kernelWidth);
    return [top, bottom, left, right];
  }
  if (typeof value === "string") {
    fail(ErrorCode.PAD, where, argument, PAD_FORMS, describe(value));
  }
  if (typeof value === "number") {
    const p = check(value);
    return [p, p, p, p];
  }
  if (Array.isArray(value)) {
    if (value.length !== 2) fail(ErrorCode.PAD, where, argument, "[height, width]", describe(value));
    const h = check(value[0]), w = check(value[1]);
    return [h, h, w, w];
  }
  if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) {
      if (!["top", "bottom", "left", "right"].includes(key)) {
        fail(ErrorCode.PAD, where, argument, "only the keys top, bottom, left, right", `unknown key "${key}"`);
      }
    }
    const sides = value as PadSides;
    return [check(sides.top ?? 0), check(sides.bottom ?? 0), check(sides.left ?? 0), check(sides.right ?? 0)];
  }
  return fail(ErrorCode.PAD, where, argument, PAD_FORMS, describe(value));
}

/**
 * A pad given explicitly: a number, [height, width] or per side, as [top, bottom, left, right] (no
 * "same" or "valid": the forms transposed convolution takes).
 */
export function explicitPads(value: unknown, where: string): [number, number, number, number] {
  if (typeof value === "string") {
    fail(ErrorCode.PAD, where, "options.pad", "a number, [height, width] or {top, bottom, left, right}", describe(value));
  }
  return pads(value, 0, 0, 1, 1, 1, 1, where);
}

/** TensorFlow's SAME: out = ceil(in / stride); total pad split with the odd pixel after. */
function samePads(size: number, stride: number, effectiveKernel: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effectiveKernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
