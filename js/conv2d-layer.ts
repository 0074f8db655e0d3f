// Conv2d, the layer: owns weight and bias, caches its input in forward, accumulates gradients in backward.

import { ErrorCode, describe, fail } from "./errors.js";
import { checkOptionsObject, convGeometry, type Conv2dOptions } from "./geometry.js";
import { Random } from "./random.js";
import { currentRuntime, type Runtime } from "./runtime.js";
import { Tensor, allocateTensor } from "./tensor.js";
import { checkBackward, conv2d, runBackward } from "./conv2d.js";

export interface Conv2dLayerOptions extends Conv2dOptions {
  inChannels: number;
  outChannels: number;
  /** KH = KW, or [KH, KW]. */
  kernelSize: number | readonly [number, number];
  /** Learn a bias (default true). */
  bias?: boolean;
  /** Seed of the weight initialisation (default 0): the same seed gives the same weights everywhere. */
  seed?: number;
  /** The runtime to allocate in (default: the latest init()). */
  runtime?: Runtime;
}

/** A learnable tensor and its gradient, as an optimiser sees them. */
export interface Parameter {
  name: string;
  value: Tensor;
  grad: Tensor;
}

const LAYER_KEYS = ["inChannels", "outChannels", "kernelSize", "stride", "pad", "dilation", "groups", "bias", "seed", "runtime"];

/**
 * A 2-D convolution layer (PyTorch's nn.Conv2d semantics). Weights are Kaiming-uniform for ReLU
 * networks, U(±√(6 / fan_in)) with fan_in = (C / groups)·KH·KW; the bias is U(±1 / √fan_in) as in PyTorch.
 * Its tensors are not tracked by scope(): they live until dispose().
 */
export class Conv2d {
  readonly runtime: Runtime;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  /** The convolution options (stride, pad, dilation, groups) this layer passes to conv2d. */
  readonly options: Readonly<Conv2dOptions>;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** Σ of dL/dw over backward() calls since the last zeroGrad(). */
  readonly weightGrad: Tensor;
  readonly biasGrad: Tensor | null;
  private input: Tensor | null = null;

  constructor(options: Conv2dLayerOptions) {
    const where = "Conv2d";
    if (options === null || typeof options !== "object") {
      fail(ErrorCode.INVALID_OPTION, where, "options", "an options object", describe(options));
    }
    const opts = checkOptionsObject(options, LAYER_KEYS, where, "options");
    const inChannels = positiveInteger(opts.inChannels, where, "options.inChannels");
    const outChannels = positiveInteger(opts.outChannels, where, "options.outChannels");
    const kernel = opts.kernelSize;
    const kernelSize: [number, number] = Array.isArray(kernel) && kernel.length === 2
      ? [positiveInteger(kernel[0], where, "options.kernelSize[0]"), positiveInteger(kernel[1], where, "options.kernelSize[1]")]
      : [positiveInteger(kernel, where, "options.kernelSize"), kernel as number];
    if (opts.bias !== undefined && typeof opts.bias !== "boolean") {
      fail(ErrorCode.INVALID_OPTION, where, "options.bias", "true or false", describe(opts.bias));
    }
    if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
      fail(ErrorCode.INVALID_OPTION, where, "options.seed", "an integer", describe(opts.seed));
    }
    const convOptions: Conv2dOptions = {};
    for (const key of ["stride", "pad", "dilation", "groups"] as const) {
      if (opts[key] !== undefined) (convOptions as Record<string, unknown>)[key] = opts[key];
    }
    const groups = convOptions.groups ?? 1;
    // Check stride, pad, dilation and groups now, on an input large enough for any kernel, so that a
    // bad option fails at construction rather than at the first forward().
    const probe = 1 << 20;
    const weightChannels = inChannels / groups;
    convGeometry([1, inChannels, probe, probe],
      [outChannels, Number.isInteger(weightChannels) ? weightChannels : 1, kernelSize[0], kernelSize[1]],
      convOptions, where);

    this.runtime = opts.runtime ?? currentRuntime(where);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.options = Object.freeze(convOptions);
    const fanIn = (inChannels / groups) * kernelSize[0] * kernelSize[1];
    const random = new Random(opts.seed ?? 0);
    const weightShape = [outChannels, inChannels / groups, kernelSize[0], kernelSize[1]];
    const weightSize = weightShape.reduce((a, b) => a * b, 1);
    const weightBound = Math.sqrt(6 / fanIn);
    const made: Tensor[] = [];
    try {
      this.weight = param(this.runtime, weightShape, random.uniformArray(weightSize, -weightBound, weightBound), made);
      this.weightGrad = param(this.runtime, weightShape, new Float32Array(weightSize), made);
      if (opts.bias ?? true) {
        const biasBound = 1 / Math.sqrt(fanIn);
        this.bias = param(this.runtime, [outChannels], random.uniformArray(outChannels, -biasBound, biasBound), made);
        this.biasGrad = param(this.runtime, [outChannels], new Float32Array(outChannels), made);
      } else {
        this.bias = null;
        this.biasGrad = null;
      }
    } catch (error) {
      for (const t of made) t.dispose();
      throw error;
    }
  }

  /** y = conv2d(x, weight, bias); keeps x (not a copy) for backward(): do not dispose x before then. */
  forward(x: Tensor): Tensor {
    const y = conv2d(x, this.weight, this.bias, this.options);
    this.input = x;
    return y;
  }

  /**
   * Adds dL/dw and dL/db for the last forward() input to weightGrad and biasGrad, and returns dL/dx
   * (or null with { inputGrad: false }, for a first layer).
   */
  backward(dy: Tensor, options?: { inputGrad?: boolean }): Tensor | null {
    const where = "Conv2d.backward";
    const opts = checkOptionsObject(options, ["inputGrad"], where, "options");
    if (opts.inputGrad !== undefined && typeof opts.inputGrad !== "boolean") {
      fail(ErrorCode.INVALID_OPTION, where, "options.inputGrad", "true or false", describe(opts.inputGrad));
    }
    if (this.input === null) {
      fail(ErrorCode.INVALID_OPTION, where, "this", "a forward() call before backward()", "no cached input");
    }
    const runtime = this.runtime;
    const { geometry, dyAddress, xAddress, wAddress } = checkBackward(runtime, dy, this.input, this.weight, this.options, where);
    const dx = opts.inputGrad ?? true ? allocateTensor(runtime, this.input.shape, this.input.size) : null;
    try {
      runBackward(runtime, geometry, dyAddress, xAddress, wAddress, {
        dx: dx?._address ?? 0, dw: this.weightGrad._address, db: this.biasGrad?._address ?? 0,
      }, true);
    } catch (error) {
      dx?.dispose();
      throw error;
    }
    return dx;
  }

  /** Sets weightGrad and biasGrad to zero. */
  zeroGrad(): void {
    this.weightGrad.write(new Float32Array(this.weightGrad.size));
    this.biasGrad?.write(new Float32Array(this.biasGrad.size));
  }

  /** The learnable tensors with their gradients: weight, then bias if any. */
  parameters(): Parameter[] {
    const list: Parameter[] = [{ name: "weight", value: this.weight, grad: this.weightGrad }];
    if (this.bias && this.biasGrad) list.push({ name: "bias", value: this.bias, grad: this.biasGrad });
    return list;
  }

  /** Frees the layer's tensors (not the cached input, which belongs to the caller). */
  dispose(): void {
    for (const t of [this.weight, this.weightGrad, this.bias, this.biasGrad]) t?.dispose();
    this.input = null;
  }
}

function param(runtime: Runtime, shape: number[], data: Float32Array, made: Tensor[]): Tensor {
  const t = allocateTensor(runtime, shape, data.length, false);
  made.push(t);
  return t.write(data);
}

function positiveInteger(value: unknown, where: string, argument: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    fail(ErrorCode.DIMENSION, where, argument, "a positive integer", describe(value));
  }
  return value;
}
