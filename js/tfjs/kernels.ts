// The plugin's kernel functions: tfjs's Conv2D family (NHWC or NCHW, HWIO filters) run as this library's NCHW directions, and MaxPoolGrad as its pooling backward.

import { ErrorCode, ConvError, describe, fail } from "../core/errors.js";
import { Direction } from "../core/kernels.js";
import type { Runtime } from "../core/runtime.js";
import { sizeOf, shapeText } from "../core/shape.js";
import { convGeometry, type ConvGeometry } from "../conv/geometry.js";
import { runSynchronously } from "../conv/schedule.js";
import { Staging, outputFrom, valuesOf, zerosOutput } from "./tensors.js";
import type { TfjsAttrs, TfjsConvInfo, TfjsKernelArgs, TfjsKernelConfig, TfjsNamespace, TfjsTensorInfo } from "./types.js";

/** The kernels the plugin provides, forward ones first. */
export const FORWARD_KERNELS = ["Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D"] as const;
export const BACKPROP_KERNELS = [
  "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter", "MaxPoolGrad",
] as const;
export type TfjsKernelName = (typeof FORWARD_KERNELS)[number] | (typeof BACKPROP_KERNELS)[number];

/** A case the plugin does not run itself (a bias or PReLU weight broadcast it does not know): the backend's own kernel runs it. */
class Unsupported extends Error {
  constructor(readonly argument: string, readonly expected: string, readonly received: string) {
    super(`${argument}: expected ${expected}, received ${received}`);
  }
}

/** What one kernel call needs: the runtime, tfjs's conv helpers, its name in errors. */
interface Context {
  runtime: Runtime;
  tf: TfjsNamespace;
  where: string;
}

/** [dh, dw] as tfjs writes strides and dilations: a number or a pair; absent is 1. */
function pair(value: unknown): unknown {
  return value === undefined || value === null ? [1, 1] : value;
}

/** tfjs's Conv2DInfo for a call: its own rules for every padding form and dimRoundingMode. */
function convInfo(
  ctx: Context, xShape: readonly number[], filterShape: readonly number[], attrs: TfjsAttrs, depthwise: boolean,
): TfjsConvInfo {
  const util = ctx.tf.backend_util;
  // tfjs's depthwise kernels read NHWC whatever dataFormat says; Conv2D's honour it.
  const format = depthwise ? "channelsLast" : util.convertConv2DDataFormat(attrs.dataFormat === "NCHW" ? "NCHW" : "NHWC");
  return util.computeConv2DInfo(
    xShape, filterShape, pair(attrs.strides), pair(attrs.dilations), attrs.pad, attrs.dimRoundingMode ?? undefined, depthwise, format,
  );
}

/**
 * This library's geometry for tfjs's: the same taps. tfjs's output size (which dimRoundingMode may
 * round up) is what counts: the bottom and right pads are those that give it, zeros either way.
 */
function geometryOf(info: TfjsConvInfo, depthwise: boolean, where: string): ConvGeometry {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const effectiveHeight = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effectiveWidth = (info.filterWidth - 1) * info.dilationWidth + 1;
  const bottom = Math.max(0, (outHeight - 1) * info.strideHeight + effectiveHeight - H - top);
  const right = Math.max(0, (outWidth - 1) * info.strideWidth + effectiveWidth - W - left);
  const geometry = convGeometry(
    [info.batchSize, C, H, W], [info.outChannels, depthwise ? 1 : C, info.filterHeight, info.filterWidth],
    {
      stride: [info.strideHeight, info.strideWidth], dilation: [info.dilationHeight, info.dilationWidth],
      pad: { top, bottom, left, right }, groups: depthwise ? C : 1,
    },
    where,
  );
  if (geometry.outHeight !== outHeight || geometry.outWidth !== outWidth) {
    // tfjs sizes a numeric pad's output by the kernel's height, stride and dilation on both axes
    // (computeOutputShape2D): with a non-square kernel its width is not the convolution's.
    throw new Unsupported("attrs.pad", `pads that give tfjs's ${outHeight}×${outWidth} output (for a numeric pad, tfjs needs a square kernel, stride and dilation; use "same", "valid" or explicit pads)`,
      `pads ${top}, ${info.padInfo.bottom}, ${left}, ${info.padInfo.right} (top, bottom, left, right), which give ${geometry.outHeight}×${geometry.outWidth}`);
  }
  return geometry;
}

/** A batch of images: N, channels, pixels per channel. */
interface Images { batch: number; channels: number; plane: number }
const inputImages = (g: ConvGeometry): Images => ({ batch: g.batch, channels: g.inChannels, plane: g.inHeight * g.inWidth });
const outputImages = (g: ConvGeometry): Images => ({ batch: g.batch, channels: g.outChannels, plane: g.outHeight * g.outWidth });

/** Image tensors: tfjs's layout ↔ NCHW in the runtime. */
function imagesIn(s: Staging, values: Float32Array, g: Images, channelsLast: boolean): number {
  return channelsLast ? s.copyInTransposed(values, g.batch, g.plane, g.channels) : s.copyIn(values);
}
function imagesOut(s: Staging, address: number, g: Images, channelsLast: boolean): number {
  return channelsLast ? s.transpose(address, g.batch, g.channels, g.plane) : address;
}

/** Filters: tfjs's HWIO ([KH, KW, C, F]; depthwise [KH, KW, C, M]) ↔ OIHW ([F, C, KH, KW]; [C·M, 1, KH, KW]). */
function filterIn(s: Staging, values: Float32Array, g: ConvGeometry, depthwise: boolean): number {
  const taps = g.kernelHeight * g.kernelWidth;
  if (depthwise) return s.copyInTransposed(values, 1, taps, g.outChannels);
  // [taps·C, F] → [F, taps, C] → [F, C, taps].
  const staged = s.copyInTransposed(values, 1, taps * g.inChannels, g.outChannels);
  return s.transpose(staged, g.outChannels, taps, g.inChannels);
}
function filterOut(s: Staging, address: number, g: ConvGeometry, depthwise: boolean): number {
  const taps = g.kernelHeight * g.kernelWidth;
  if (depthwise) return s.transpose(address, 1, g.outChannels, taps);
  return s.transpose(s.transpose(address, g.outChannels, g.inChannels, taps), 1, g.outChannels, taps * g.inChannels);
}

function run(ctx: Context, direction: Direction, geometry: ConvGeometry, operands: { w?: number; bias?: number; a: number; b?: number; out: number }): void {
  runSynchronously(ctx.runtime, [{
    direction, geometry, w: operands.w ?? 0, bias: operands.bias ?? 0, a: operands.a, b: operands.b ?? 0, out: operands.out, accumulate: false,
  }], ctx.where);
}

function input(args: TfjsKernelArgs, name: string, where: string): TfjsTensorInfo {
  const info = args.inputs[name];
  if (!info) fail(ErrorCode.NOT_A_TENSOR, where, `inputs.${name}`, "a tensor", "none");
  // The kernels are float32's; another dtype (tfjs's ops cast, runKernel need not) is the backend's to run.
  if (info.dtype !== "float32") throw new Unsupported(`inputs.${name}`, "a float32 tensor", `a ${info.dtype} tensor`);
  return info;
}

/** The fused bias, F floats in the runtime (a scalar bias is spread over F), or 0 without one. */
function biasIn(ctx: Context, s: Staging, args: TfjsKernelArgs, F: number): number {
  if (!args.inputs.bias) return 0;
  const bias = input(args, "bias", ctx.where);
  const values = valuesOf(args.backend, bias, ctx.where, "inputs.bias");
  if (values.length === F) return s.copyIn(values);
  if (values.length === 1) return s.copyIn(new Float32Array(F).fill(values[0]!));
  throw new Unsupported("inputs.bias", `a bias of ${F} values (one per output channel) or 1`, `shape ${shapeText(bias.shape)}`);
}

/** Applies a fused activation in place to NCHW output (F channels of `plane` pixels), as tfjs's applyActivation. */
function activate(ctx: Context, s: Staging, args: TfjsKernelArgs, out: number, g: ConvGeometry): void {
  const attrs = args.attrs ?? {};
  const activation = attrs.activation ?? "linear";
  const count = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const k = ctx.runtime.kernels;
  switch (activation) {
    case "linear": return;
    case "relu": k.reluForward(out, out, count); return;
    case "sigmoid": k.sigmoidForward(out, out, count); return;
    case "leakyrelu": k.leakyReluForward(out, out, count, Number(attrs.leakyreluAlpha ?? 0.2)); return;
    case "relu6": {
      const v = s.view(out, count);
      for (let i = 0; i < count; i++) v[i] = Math.min(Math.max(v[i]!, 0), 6);
      return;
    }
    case "elu": {
      const v = s.view(out, count);
      for (let i = 0; i < count; i++) if (v[i]! < 0) v[i] = Math.exp(v[i]!) - 1;
      return;
    }
    case "prelu": {
      if (!args.inputs.preluActivationWeights) throw new Unsupported("inputs.preluActivationWeights", "a tensor for a prelu activation", "none");
      const weights = input(args, "preluActivationWeights", ctx.where);
      const alpha = valuesOf(args.backend, weights, ctx.where, "inputs.preluActivationWeights");
      const F = g.outChannels, plane = g.outHeight * g.outWidth;
      if (alpha.length !== F && alpha.length !== 1) {
        throw new Unsupported("inputs.preluActivationWeights", `${F} values (one per output channel) or 1`, `shape ${shapeText(weights.shape)}`);
      }
      const v = s.view(out, count);
      for (let i = 0; i < count; i++) {
        const a = alpha.length === 1 ? alpha[0]! : alpha[Math.floor(i / plane) % F]!;
        if (v[i]! < 0) v[i] = a * v[i]!;
      }
      return;
    }
    default:
      throw new Unsupported("attrs.activation", '"linear", "relu", "relu6", "elu", "prelu", "leakyrelu" or "sigmoid"', describe(activation));
  }
}

/** Conv2D, FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2D: y = act(x ⋆ w + b). */
function forward(ctx: Context, args: TfjsKernelArgs, depthwise: boolean): TfjsTensorInfo {
  const x = input(args, "x", ctx.where), filter = input(args, "filter", ctx.where);
  const info = convInfo(ctx, x.shape, filter.shape, args.attrs ?? {}, depthwise);
  if (sizeOf(info.outShape) === 0 || sizeOf(filter.shape) === 0) return zerosOutput(args.backend, info.outShape);
  const g = geometryOf(info, depthwise, ctx.where);
  const last = info.dataFormat === "channelsLast";
  const s = new Staging(ctx.runtime, ctx.where);
  try {
    const xAddress = imagesIn(s, valuesOf(args.backend, x, ctx.where, "inputs.x"), inputImages(g), last);
    const wAddress = filterIn(s, valuesOf(args.backend, filter, ctx.where, "inputs.filter"), g, depthwise);
    const bias = biasIn(ctx, s, args, g.outChannels);
    const out = s.allocate(sizeOf(info.outShape));
    run(ctx, Direction.FORWARD, g, { w: wAddress, bias, a: xAddress, out });
    activate(ctx, s, args, out, g);
    const result = imagesOut(s, out, outputImages(g), last);
    return outputFrom(args.backend, info.outShape, s, result);
  } finally {
    s.release();
  }
}

/** A shape attribute (inputShape, filterShape) of four whole numbers. */
function shapeAttr(attrs: TfjsAttrs, name: string, where: string): number[] {
  const value = attrs[name];
  if (!Array.isArray(value) || value.length !== 4 || !value.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(ErrorCode.DIMENSION, where, `attrs.${name}`, "four whole numbers", describe(value));
  }
  return value as number[];
}

/** dy must have the shape tfjs's rules give the forward output (conv2dTranspose passes a user's outputShape). */
function checkDy(dy: TfjsTensorInfo, info: TfjsConvInfo): void {
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== info.outShape[i])) {
    throw new Unsupported("inputs.dy", `the forward output's shape ${shapeText(info.outShape)}`, `shape ${shapeText(dy.shape)}`);
  }
}

/** Conv2DBackpropInput, DepthwiseConv2dNativeBackpropInput: dx = dy ⋆ᵀ w (conv2dTranspose's forward). */
function backpropInput(ctx: Context, args: TfjsKernelArgs, depthwise: boolean): TfjsTensorInfo {
  const dy = input(args, "dy", ctx.where), filter = input(args, "filter", ctx.where);
  const attrs = args.attrs ?? {};
  const inputShape = shapeAttr(attrs, "inputShape", ctx.where);
  const info = convInfo(ctx, inputShape, filter.shape, attrs, depthwise);
  checkDy(dy, info);
  if (sizeOf(inputShape) === 0 || sizeOf(dy.shape) === 0 || sizeOf(filter.shape) === 0) return zerosOutput(args.backend, inputShape);
  const g = geometryOf(info, depthwise, ctx.where);
  const last = info.dataFormat === "channelsLast";
  const s = new Staging(ctx.runtime, ctx.where);
  try {
    const dyAddress = imagesIn(s, valuesOf(args.backend, dy, ctx.where, "inputs.dy"), outputImages(g), last);
    const wAddress = filterIn(s, valuesOf(args.backend, filter, ctx.where, "inputs.filter"), g, depthwise);
    const dx = s.allocate(sizeOf(inputShape));
    run(ctx, Direction.DX, g, { w: wAddress, a: dyAddress, out: dx });
    const result = imagesOut(s, dx, inputImages(g), last);
    return outputFrom(args.backend, inputShape, s, result);
  } finally {
    s.release();
  }
}

/** Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter: dw = x ⋆ dy, in tfjs's filter layout. */
function backpropFilter(ctx: Context, args: TfjsKernelArgs, depthwise: boolean): TfjsTensorInfo {
  const x = input(args, "x", ctx.where), dy = input(args, "dy", ctx.where);
  const attrs = args.attrs ?? {};
  const filterShape = shapeAttr(attrs, "filterShape", ctx.where);
  const info = convInfo(ctx, x.shape, filterShape, attrs, depthwise);
  checkDy(dy, info);
  if (sizeOf(x.shape) === 0 || sizeOf(dy.shape) === 0 || sizeOf(filterShape) === 0) return zerosOutput(args.backend, filterShape);
  const g = geometryOf(info, depthwise, ctx.where);
  const last = info.dataFormat === "channelsLast";
  const s = new Staging(ctx.runtime, ctx.where);
  try {
    const xAddress = imagesIn(s, valuesOf(args.backend, x, ctx.where, "inputs.x"), inputImages(g), last);
    const dyAddress = imagesIn(s, valuesOf(args.backend, dy, ctx.where, "inputs.dy"), outputImages(g), last);
    const dw = s.allocate(sizeOf(filterShape));
    run(ctx, Direction.DW, g, { a: dyAddress, b: xAddress, out: dw });
    return outputFrom(args.backend, filterShape, s, filterOut(s, dw, g, depthwise));
  } finally {
    s.release();
  }
}

function isChannelsLast(attrs: TfjsAttrs | undefined, kernelName: TfjsKernelName): boolean {
  return kernelName.startsWith("Depthwise") || kernelName.startsWith("FusedDepthwise") || (attrs?.dataFormat ?? "NHWC") !== "NCHW";
}

/**
 * MaxPoolGrad: each dy at its window's maximum in x (tfjs's pools are NHWC). The maximum is the first
 * in the window's row-major order, as tfjs's; where a window holds NaN, this library's rule (the last
 * NaN) picks it, where tfjs's skips NaN.
 */
function maxPoolGrad(ctx: Context, args: TfjsKernelArgs): TfjsTensorInfo {
  const dy = input(args, "dy", ctx.where), x = input(args, "input", ctx.where);
  const attrs = args.attrs ?? {};
  if (x.shape.length !== 4) throw new Unsupported("inputs.input", "a rank-4 NHWC tensor", `shape ${shapeText(x.shape)}`);
  const size = attrs.filterSize;
  const [KH, KW] = (Array.isArray(size) ? size : [size, size]) as number[];
  if (!(Number.isInteger(KH) && KH! > 0 && Number.isInteger(KW) && KW! > 0)) {
    fail(ErrorCode.DIMENSION, ctx.where, "attrs.filterSize", "a positive whole number or two", describe(size));
  }
  const C = x.shape[3]!;
  const info = ctx.tf.backend_util.computeConv2DInfo(x.shape, [KH!, KW!, C, C], pair(attrs.strides), [1, 1], attrs.pad, attrs.dimRoundingMode ?? undefined, false, "channelsLast");
  checkDy(dy, info);
  if (sizeOf(x.shape) === 0 || sizeOf(dy.shape) === 0) return zerosOutput(args.backend, x.shape);
  const { batchSize: N, inHeight: H, inWidth: W, outHeight, outWidth } = info;
  const s = new Staging(ctx.runtime, ctx.where);
  try {
    const images = { batch: N, channels: C, plane: H * W };
    const xAddress = imagesIn(s, valuesOf(args.backend, x, ctx.where, "inputs.input"), images, true);
    const dyAddress = imagesIn(s, valuesOf(args.backend, dy, ctx.where, "inputs.dy"), { batch: N, channels: C, plane: outHeight * outWidth }, true);
    const dx = s.allocate(sizeOf(x.shape));
    ctx.runtime.kernels.maxPool2dBackward(xAddress, dyAddress, dx, N * C, H, W, outHeight, outWidth, KH!, KW!,
      info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, 1, 1);
    return outputFrom(args.backend, x.shape, s, imagesOut(s, dx, images, true));
  } finally {
    s.release();
  }
}

const IMPLEMENTATIONS: Record<TfjsKernelName, (ctx: Context, args: TfjsKernelArgs) => TfjsTensorInfo> = {
  Conv2D: (ctx, args) => forward(ctx, args, false),
  FusedConv2D: (ctx, args) => forward(ctx, args, false),
  DepthwiseConv2dNative: (ctx, args) => forward(ctx, args, true),
  FusedDepthwiseConv2D: (ctx, args) => forward(ctx, args, true),
  Conv2DBackpropInput: (ctx, args) => backpropInput(ctx, args, false),
  Conv2DBackpropFilter: (ctx, args) => backpropFilter(ctx, args, false),
  DepthwiseConv2dNativeBackpropInput: (ctx, args) => backpropInput(ctx, args, true),
  DepthwiseConv2dNativeBackpropFilter: (ctx, args) => backpropFilter(ctx, args, true),
  MaxPoolGrad: maxPoolGrad,
};

/**
 * The kernel config the plugin registers for one kernel and backend. A case it does not run (see
 * Unsupported) goes to the backend's own kernel, `original`; where there is none, ERR_UNSUPPORTED.
 * With channelsLastToOriginal, NHWC calls go to `original` too (XNNPACK's forward on wasm) and the
 * plugin runs only the NCHW ones, which that kernel refuses.
 */
export function kernelConfig(
  tf: TfjsNamespace, runtime: Runtime, kernelName: TfjsKernelName, backendName: string, original: TfjsKernelConfig | undefined,
  channelsLastToOriginal = false,
): TfjsKernelConfig {
  const ctx: Context = { runtime, tf, where: `tfjs ${kernelName} (${backendName})` };
  const implementation = IMPLEMENTATIONS[kernelName];
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => {
      if (channelsLastToOriginal && original && isChannelsLast(args.attrs, kernelName)) return original.kernelFunc(args);
      try {
        return implementation(ctx, args);
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        if (original) return original.kernelFunc(args);
        throw new ConvError(ErrorCode.UNSUPPORTED, `${ctx.where}: ${error.message}`, {
          argument: error.argument, expected: error.expected, received: error.received,
        });
      }
    },
    ...(original?.setupFunc ? { setupFunc: original.setupFunc } : {}),
    ...(original?.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
  };
}
