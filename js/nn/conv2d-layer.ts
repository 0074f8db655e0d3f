// Conv2d, the layer: owns weight and bias, caches its input in forward, accumulates gradients in backward, on this thread or the pool.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, integerOption, positiveInteger, requireOptionsObject } from "../core/checks.js";
import { Random } from "../core/random.js";
import { runtimeArgument, type Runtime } from "../core/runtime.js";
import { allocateTensor, pin, unpin, type Tensor } from "../core/tensor.js";
import { backwardCalls, checkBackward } from "../conv/calls.js";
import { forwardConv2d } from "../conv/conv2d.js";
import { forwardConv2dAsync } from "../conv/conv2d-async.js";
import { CONV_OPTION_KEYS, convGeometry, kernelSizeOption, pickConvOptions, type Conv2dOptions } from "../conv/geometry.js";
import { runCalls, runSynchronously } from "../conv/schedule.js";
import { cachedInput, wantsInputGrad, type BackwardOptions } from "./layer.js";
import { WeightedLayer } from "./weighted.js";

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

const LAYER_KEYS = ["inChannels", "outChannels", "kernelSize", ...CONV_OPTION_KEYS, "bias", "seed", "runtime"];

/**
 * A 2-D convolution layer (PyTorch's nn.Conv2d semantics). Weights are Kaiming-uniform for ReLU
 * networks, U(±√(6 / fan_in)) with fan_in = (C / groups)·KH·KW; the bias is U(±1 / √fan_in) as in PyTorch.
 * Its tensors are not tracked by scope(): they live until dispose().
 */
export class Conv2d extends WeightedLayer {
  protected readonly kind = "Conv2d";
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  /** The convolution options (stride, pad, dilation, groups) this layer passes to conv2d. */
  readonly options: Readonly<Conv2dOptions>;

  constructor(options: Conv2dLayerOptions) {
    const where = "Conv2d";
    const opts = requireOptionsObject(options, LAYER_KEYS, where);
    const inChannels = positiveInteger(opts.inChannels, where, "options.inChannels");
    const outChannels = positiveInteger(opts.outChannels, where, "options.outChannels");
    const kernelSize = kernelSizeOption(opts.kernelSize, where, "options.kernelSize");
    const withBias = booleanOption(opts.bias, true, where, "options.bias");
    const random = new Random(integerOption(opts.seed, 0, where, "options.seed"));
    const convOptions = pickConvOptions(opts);
    const groups = convOptions.groups ?? 1;
    if (typeof groups !== "number" || !Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      fail(ErrorCode.GROUPS, where, "options.groups",
        `a positive integer dividing both options.inChannels = ${inChannels} and options.outChannels = ${outChannels}`, describe(groups));
    }
    // Check stride, pad and dilation now, on an input large enough for any kernel, so that a bad
    // option fails at construction rather than at the first forward().
    const probe = 1 << 20;
    const weightShape = [outChannels, inChannels / groups, kernelSize[0], kernelSize[1]];
    convGeometry([1, inChannels, probe, probe], weightShape, convOptions, where);
    const runtime = runtimeArgument(opts.runtime, where, "options.runtime");
    super(runtime, weightShape, weightShape[1]! * kernelSize[0] * kernelSize[1], withBias, random, where);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.options = Object.freeze(convOptions);
  }

  override get name(): string {
    const groups = this.options.groups && this.options.groups > 1 ? `, groups ${this.options.groups}` : "";
    return `Conv2d(${this.inChannels} → ${this.outChannels}, ${this.kernelSize[0]}×${this.kernelSize[1]}${groups})`;
  }

  /** y = conv2d(x, weight, bias); keeps x (not a copy) for backward(): do not dispose x before then. */
  forward(x: Tensor): Tensor {
    const where = "Conv2d.forward";
    const y = forwardConv2d(this.checkX(x, where), this.weight, this.bias, this.options, where);
    this.input = x;
    return y;
  }

  /** forward(), on the runtime's worker threads (see conv2dAsync). */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    const where = "Conv2d.forwardAsync";
    const y = await forwardConv2dAsync(this.checkX(x, where), this.weight, this.bias, this.options, where);
    this.input = x;
    return y;
  }

  /**
   * Adds dL/dw and dL/db for the last forward() input to weightGrad and biasGrad, and returns dL/dx
   * (or null with { inputGrad: false }, for a first layer).
   */
  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const { checked, dx } = this.prepareBackward(dy, inputGrad, where);
    try {
      runSynchronously(this.runtime, backwardCalls(checked, this.targets(dx), true), where);
    } catch (error) {
      dx?.dispose();
      throw error;
    }
    return dx;
  }

  /** backward(), on the runtime's worker threads; the gradients accumulate exactly as backward()'s do. */
  backwardAsync(dy: Tensor, options?: { inputGrad?: true }): Promise<Tensor>;
  backwardAsync(dy: Tensor, options?: BackwardOptions): Promise<Tensor | null>;
  async backwardAsync(dy: Tensor, options?: BackwardOptions): Promise<Tensor | null> {
    const where = "Conv2d.backwardAsync";
    const { checked, dx } = this.prepareBackward(dy, wantsInputGrad(options, where), where);
    const used = [dy, this.input, this.weight, this.weightGrad, this.biasGrad, dx];
    pin(used);
    try {
      await runCalls(this.runtime, backwardCalls(checked, this.targets(dx), true), where);
    } catch (error) {
      dx?.dispose();
      throw error;
    } finally {
      unpin(used);
    }
    return dx;
  }

  private checkX(x: Tensor, where: string): Tensor {
    const nhwc = (shape: readonly number[]) =>
      shape.length === 4 && shape[3] === this.inChannels && shape[1] !== this.inChannels
        ? `; its last axis is ${this.inChannels}: is x NHWC? Conv2d takes NCHW` : "";
    return this.checkInput(x, where, 4, `[N, ${this.inChannels}, H, W]`, { 1: this.inChannels }, `inChannels = ${this.inChannels}`, nhwc);
  }

  private prepareBackward(dy: Tensor, inputGrad: boolean, where: string) {
    const x = cachedInput(this.input, where);
    const checked = checkBackward(this.runtime, dy, x, this.weight, this.options, where);
    const dx = inputGrad ? allocateTensor(this.runtime, x.shape, where) : null;
    return { checked, dx };
  }

  private targets(dx: Tensor | null) {
    return { dx: dx?._address ?? 0, dw: this.weightGrad._address, db: this.biasGrad?._address ?? 0 };
  }
}
