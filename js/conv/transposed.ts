// Transposed convolution as the adjoint of a conv2d: its options and output size, the conv2d geometry whose directions compute it, and its checked calls.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { checkOptionsObject, type GradientSelection } from "../core/checks.js";
import type { Runtime } from "../core/runtime.js";
import { sameShape, shapeText } from "../core/shape.js";
import { Tensor, allocateTensor, tensorAddress } from "../core/tensor.js";
import { Direction } from "../core/kernels.js";
import { allocateGradients, type Conv2dGradients, type GradientTargets } from "./calls.js";
import { convGeometry, explicitPads, pairOption, type ConvGeometry, type PadSides } from "./geometry.js";
import type { DirectionCall } from "./schedule.js";

// y = convTranspose2d(x, w) is the x-gradient of the convolution c whose input has y's shape and
// whose output has x's: y = dx_c(dy = x, w). So its forward is conv2d's dx, its dx is conv2d's
// forward of dy, its dw is conv2d's dw with conv2d's dy and x exchanged (x and dy here), its db the
// sum of dy: every kernel, path and thread split of conv2d serves it unchanged. w [C_in, C_out / g,
// KH, KW] is exactly the conv's [F, C / g, KH, KW] with F = C_in and C = C_out.
//
// Ho = (H − 1)·s − p_t − p_b + d·(KH − 1) + op + 1 makes the conv's output ⌊((H − 1)·s + op) / s⌋ + 1
// = H + ⌊op / s⌋ rows: H while op < s. PyTorch also allows s ≤ op < d (a dilation above the stride);
// then the conv's output has ⌊op / s⌋ rows more than x, which is zero-extended to them (forward, dw)
// and whose dx is cropped back (backward): rows that only ever meet zeros.

/** Options of convTranspose2d, ConvTranspose2d and their async twins (torch.nn.functional.conv_transpose2d's). */
export interface ConvTranspose2dOptions {
  /** Step between input positions in the output: one number or [height, width]. Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding taken off the output: a number, [height, width] or per side. Default 0. */
  pad?: number | readonly [number, number] | PadSides;
  /** Rows and columns added at the bottom and right of the output: a number or [height, width], each < max(stride, dilation). Default 0. */
  outputPadding?: number | readonly [number, number];
  /** Spacing between kernel taps: one number or [height, width]. Default 1. */
  dilation?: number | readonly [number, number];
  /** Split C_in and C_out into this many independent blocks. Default 1. */
  groups?: number;
}

/** The keys of ConvTranspose2dOptions. */
export const CONV_TRANSPOSE_OPTION_KEYS = ["stride", "pad", "outputPadding", "dilation", "groups"] as const;

/** A transposed convolution, validated: its output shape and the conv2d geometries that compute it. */
export interface TransposedGeometry {
  /** x's shape, [N, C_in, H, W]. */
  inShape: number[];
  /** [N, C_out, Ho, Wo]. */
  outShape: number[];
  /** The conv2d whose input is the output here and whose output is x (zero-extended: see extend). */
  conv: ConvGeometry;
  /** x's shape as the conv's output: [N, C_in, H + ⌊op_h / s_h⌋, W + ⌊op_w / s_w⌋]. */
  convOutShape: number[];
  /** Whether that is larger than x (an outputPadding of at least the stride on an axis). */
  extend: boolean;
  /** dy's shape as a 1×1 convolution's output: what the db kernel sums per channel. */
  db: ConvGeometry;
}

/**
 * Validates a transposed convolution and derives its output. `named` says how errors name the shapes:
 * "tensors" (x.shape[1]) or "shapes" (xShape[1], for convTranspose2dOutputShape).
 */
export function transposedGeometry(
  inputShape: readonly number[], weightShape: readonly number[], options: ConvTranspose2dOptions | null | undefined, where: string,
  named: "tensors" | "shapes" = "tensors",
): TransposedGeometry {
  const [x, w] = named === "tensors" ? ["x", "w"] : ["xShape", "wShape"];
  const [xs, ws] = named === "tensors" ? ["x.shape", "w.shape"] : ["xShape", "wShape"];
  for (const [shape, argument, layout] of [[inputShape, x, "[N, C_in, H, W]"], [weightShape, w, "[C_in, C_out / groups, KH, KW]"]] as const) {
    if (!Array.isArray(shape)) fail(ErrorCode.DIMENSION, where, argument, `an array ${layout} of positive integers`, describe(shape));
    if (shape.length !== 4) fail(ErrorCode.RANK, where, argument, `a rank-4 tensor ${layout}`, `rank ${shape.length} ${describe([...shape])}`);
    for (let i = 0; i < 4; i++) {
      const d: unknown = shape[i];
      if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
        fail(ErrorCode.DIMENSION, where, `${argument === x ? xs : ws}[${i}]`, "a positive integer", describe(d));
      }
    }
  }
  const opts = checkOptionsObject(options, CONV_TRANSPOSE_OPTION_KEYS, where, "options");
  const [strideHeight, strideWidth] = pairOption(opts.stride, 1, ErrorCode.STRIDE, where, "options.stride");
  const [dilationHeight, dilationWidth] = pairOption(opts.dilation, 1, ErrorCode.DILATION, where, "options.dilation");
  const [padTop, padBottom, padLeft, padRight] = explicitPads(opts.pad, where);
  const [outputPadHeight, outputPadWidth] = outputPadding(opts.outputPadding, [strideHeight, strideWidth], [dilationHeight, dilationWidth], where);
  const groups = opts.groups ?? 1;
  const [batch, inChannels, height, width] = inputShape as [number, number, number, number];
  const [weightIn, weightOut, kernelHeight, kernelWidth] = weightShape as [number, number, number, number];
  if (typeof groups !== "number" || !Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0) {
    fail(ErrorCode.GROUPS, where, "options.groups", `a positive integer dividing C_in = ${inChannels}`, describe(groups));
  }
  if (weightIn !== inChannels) {
    const nhwc = inputShape[3] === weightIn ? `; ${x}'s last axis is ${inputShape[3]}: is it NHWC? convTranspose2d takes NCHW` : "";
    fail(ErrorCode.CHANNELS, where, w, `${ws}[0] = C_in = ${xs}[1] = ${inChannels}`,
      `${ws}[0] = ${weightIn} (${w} shape ${shapeText(weightShape)}, ${x} shape ${shapeText(inputShape)}${nhwc})`);
  }
  const outChannels = weightOut * groups;
  const outHeight = (height - 1) * strideHeight - padTop - padBottom + dilationHeight * (kernelHeight - 1) + outputPadHeight + 1;
  const outWidth = (width - 1) * strideWidth - padLeft - padRight + dilationWidth * (kernelWidth - 1) + outputPadWidth + 1;
  if (outHeight < 1 || outWidth < 1) {
    fail(ErrorCode.PAD, where, "options.pad", `pads that leave an output of at least 1×1`,
      `pads ${padTop}, ${padBottom}, ${padLeft}, ${padRight} (top, bottom, left, right): the output would be ${outHeight}×${outWidth}`);
  }
  // Every check above is the transposed convolution's own: the conv below cannot fail on them.
  const conv = convGeometry([batch, outChannels, outHeight, outWidth], [inChannels, weightOut, kernelHeight, kernelWidth], {
    stride: [strideHeight, strideWidth], dilation: [dilationHeight, dilationWidth], groups,
    pad: { top: padTop, bottom: padBottom, left: padLeft, right: padRight },
  }, where);
  const convOutShape = [batch, inChannels, conv.outHeight, conv.outWidth];
  const outShape = [batch, outChannels, outHeight, outWidth];
  const db = convGeometry(outShape, [outChannels, outChannels, 1, 1], {}, where);
  return { inShape: [...inputShape], outShape, conv, convOutShape, extend: !sameShape(convOutShape, inputShape), db };
}

/** [N, C_out, Ho, Wo] for x of shape [N, C_in, H, W] and w of shape [C_in, C_out / groups, KH, KW], with convTranspose2d's checks. */
export function convTranspose2dOutputShape(xShape: readonly number[], wShape: readonly number[], options?: ConvTranspose2dOptions): number[] {
  return transposedGeometry(xShape, wShape, options, "convTranspose2dOutputShape", "shapes").outShape;
}

function outputPadding(value: unknown, stride: [number, number], dilation: [number, number], where: string): [number, number] {
  const argument = "options.outputPadding";
  if (value === undefined) return [0, 0];
  const values = Array.isArray(value) ? Array.from(value as unknown[]) : [value, value];
  const limits = [Math.max(stride[0], dilation[0]), Math.max(stride[1], dilation[1])];
  const fits = values.length === 2 && values.every((v, i) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v < limits[i]!);
  if (!fits) {
    fail(ErrorCode.PAD, where, argument,
      `a non-negative integer or [height, width] of them, each below max(stride, dilation) on its axis (${limits[0]}, ${limits[1]})`, describe(value));
  }
  return [values[0] as number, values[1] as number];
}

/** @internal Checked forward arguments of a transposed convolution. */
export interface CheckedTransposed {
  geometry: TransposedGeometry;
  xAddress: number;
  wAddress: number;
  bAddress: number;
}

/** @internal Checks x, w and b (b [C_out] or null) against the runtime and each other. */
export function checkTransposedForward(
  runtime: Runtime, x: unknown, w: unknown, b: unknown, options: ConvTranspose2dOptions | undefined, where: string,
): CheckedTransposed {
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const bAddress = b === null || b === undefined ? 0 : tensorAddress(b, runtime, where, "b");
  const geometry = transposedGeometry((x as Tensor).shape, (w as Tensor).shape, options, where);
  const outChannels = geometry.outShape[1]!;
  if (bAddress !== 0) {
    const bShape = (b as Tensor).shape;
    if (bShape.length !== 1 || bShape[0] !== outChannels) {
      fail(ErrorCode.BIAS, where, "b", `a rank-1 tensor [C_out] = [${outChannels}]`, `shape ${shapeText(bShape)}`);
    }
  }
  return { geometry, xAddress, wAddress, bAddress };
}

/** @internal Checks dy (it must have the output's shape), x and w. */
export function checkTransposedBackward(
  runtime: Runtime, dy: unknown, x: unknown, w: unknown, options: ConvTranspose2dOptions | undefined, where: string,
): CheckedTransposed & { dyAddress: number } {
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const checked = checkTransposedForward(runtime, x, w, null, options, where);
  const dyShape = (dy as Tensor).shape;
  if (!sameShape(dyShape, checked.geometry.outShape)) {
    fail(ErrorCode.GRAD_SHAPE, where, "dy", `the output's shape ${shapeText(checked.geometry.outShape)}`, `shape ${shapeText(dyShape)}`);
  }
  return { ...checked, dyAddress };
}

/**
 * @internal What a transposed call runs: the conv2d direction calls, and the work around them — x
 * zero-extended before (where the outputPadding asks), a cropped dx and the bias after. The
 * temporary tensors are the call's own; free them with dispose() when it ends, ran or not.
 */
export interface TransposedRun {
  calls: DirectionCall[];
  /** Runs after the calls: the crop of dx and the bias. */
  after(): void;
  dispose(): void;
}

/** @internal The forward: y = the conv's dx of x (extended if need be), then + b. */
export function transposedForwardRun(runtime: Runtime, checked: CheckedTransposed, y: Tensor, where: string): TransposedRun {
  const { geometry: g, wAddress, bAddress } = checked;
  const extended = g.extend ? extendedInput(runtime, checked.xAddress, g, where) : null;
  const call: DirectionCall = {
    direction: Direction.DX, geometry: g.conv, w: wAddress, bias: 0, a: extended?._address ?? checked.xAddress, b: 0, out: y._address, accumulate: false,
  };
  return {
    calls: [call],
    after: () => {
      if (bAddress) runtime.kernels.addChannelBias(y._address, bAddress, g.outShape[0]!, g.outShape[1]!, g.outShape[2]! * g.outShape[3]!);
    },
    dispose: () => extended?.dispose(),
  };
}

/**
 * @internal The backward into the given targets (0 = skip): db sums dy; dw is the conv's dw with dy
 * and x exchanged; dx is the conv's forward of dy (cropped where x was extended). With accumulate,
 * dw and db add onto what they hold (a layer); dx is always overwritten.
 */
export function transposedBackwardRun(
  runtime: Runtime, checked: CheckedTransposed & { dyAddress: number }, targets: GradientTargets, accumulate: boolean, where: string,
): TransposedRun {
  const { geometry: g, dyAddress, wAddress } = checked;
  const made: Tensor[] = [];
  const temporary = (t: Tensor) => {
    made.push(t);
    return t;
  };
  try {
    const x = g.extend && targets.dw ? temporary(extendedInput(runtime, checked.xAddress, g, where))._address : checked.xAddress;
    const wideDx = g.extend && targets.dx ? temporary(allocateTensor(runtime, g.convOutShape, where, false)) : null;
    const calls: DirectionCall[] = [];
    const call = (direction: Direction, geometry: ConvGeometry, w: number, a: number, b: number, out: number, add: boolean): DirectionCall =>
      ({ direction, geometry, w, bias: 0, a, b, out, accumulate: add });
    if (targets.db) calls.push(call(Direction.DB, g.db, 0, dyAddress, 0, targets.db, accumulate));
    if (targets.dw) calls.push(call(Direction.DW, g.conv, 0, x, dyAddress, targets.dw, accumulate));
    if (targets.dx) calls.push(call(Direction.FORWARD, g.conv, wAddress, dyAddress, 0, wideDx?._address ?? targets.dx, false));
    return {
      calls,
      after: () => {
        if (wideDx) copyWindow(runtime, wideDx._address, g.convOutShape, targets.dx, g.inShape);
      },
      dispose: () => made.forEach((t) => t.dispose()),
    };
  } catch (error) {
    made.forEach((t) => t.dispose());
    throw error;
  }
}

/** @internal The gradients a transposed backward selects, shaped like x, w and [C_out]. */
export function allocateTransposedGradients(
  runtime: Runtime, g: TransposedGeometry, x: Tensor, w: Tensor, selection: Required<GradientSelection>, where: string,
): Conv2dGradients {
  // conv2d's allocation, with db sized by C_out (the conv here has F = C_in).
  const gradients = allocateGradients(runtime, g.conv, x, w, { ...selection, db: false }, where);
  try {
    if (selection.db) gradients.db = allocateTensor(runtime, [g.outShape[1]!], where);
  } catch (error) {
    gradients.dx?.dispose();
    gradients.dw?.dispose();
    throw error;
  }
  return gradients;
}

/** x zero-extended to the conv's output shape (a temporary tensor, not tracked by scope()). */
function extendedInput(runtime: Runtime, x: number, g: TransposedGeometry, where: string): Tensor {
  const t = allocateTensor(runtime, g.convOutShape, where, false);
  copyWindow(runtime, x, g.inShape, t._address, g.convOutShape);
  return t;
}

/** Each [N·C] plane of dst ← the top-left window of src's, zeros past src (shapes [N, C, H, W] alike in N and C). */
function copyWindow(runtime: Runtime, src: number, srcShape: readonly number[], dst: number, dstShape: readonly number[]): void {
  runtime.kernels.copyPlaneWindow(src, srcShape[2]!, srcShape[3]!, dst, dstShape[2]!, dstShape[3]!, srcShape[0]! * srcShape[1]!);
}
