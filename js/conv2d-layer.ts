// Conv2d, the layer: owns weight and bias, caches its input in forward, accumulates gradients in backward.

import { ErrorCode, describe, fail } from "./errors.js";
import { CONV_OPTION_KEYS, checkOptionsObject, convGeometry, pickConvOptions, type Conv2dOptions } from "./geometry.js";
import {
  WeightedLayer, biasOption, cachedInput, positiveInteger, seedOption, wantsInputGrad, type BackwardOptions,
} from "./layer.js";
import { Random } from "./random.js";
import { currentRuntime, type Runtime } from "./runtime.js";
import { allocateTensor, pin, unpin, type Tensor } from "./tensor.js";
import { backwardCalls, checkBackward, conv2d, runBackward } from "./conv2d.js";
import { conv2dAsync } from "./conv2d-async.js";
import { runCalls } from "./schedule.js";

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
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  /** The convolution options (stride, pad, dilation, groups) this layer passes to conv2d. */
  readonly options: Readonly<Conv2dOptions>;

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
    const withBias = biasOption(opts.bias, where);
    const random = new Random(seedOption(opts.seed, where));
    const convOptions = pickConvOptions(opts);
    const groups = convOptions.groups ?? 1;
    // Check stride, pad, dilation and groups now, on an input large enough for any kernel, so that a
    // bad option fails at construction rather than at the first forward().
    const probe = 1 << 20;
    const weightChannels = inChannels / groups;
    convGeometry([1, inChannels, probe, probe],
      [outChannels, Number.isInteger(weightChannels) ? weightChannels : 1, kernelSize[0], kernelSize[1]],
      convOptions, where);
    super(opts.runtime ?? currentRuntime(where), [outChannels, weightChannels, kernelSize[0], kernelSize[1]],
      weightChannels * kernelSize[0] * kernelSize[1], withBias, random);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.options = Object.freeze(convOptions);
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
  backward(dy: Tensor, options?: BackwardOptions): Tensor | null {
    const { geometry, dyAddress, xAddress, wAddress, dx } = this.prepareBackward(dy, options, "Conv2d.backward");
    try {
      runBackward(this.runtime, geometry, dyAddress, xAddress, wAddress, this.targets(dx), true);
    } catch (error) {
      dx?.dispose();
      throw error;
    }
    return dx;
  }

  /** forward(), on the runtime's worker threads (see conv2dAsync). */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    const y = await conv2dAsync(x, this.weight, this.bias, this.options);
    this.input = x;
    return y;
  }

  /** backward(), on the runtime's worker threads; the gradients accumulate exactly as backward()'s do. */
  async backwardAsync(dy: Tensor, options?: BackwardOptions): Promise<Tensor | null> {
    const { geometry, dyAddress, xAddress, wAddress, dx } = this.prepareBackward(dy, options, "Conv2d.backwardAsync");
    const used = [dy, this.input, this.weight, this.weightGrad, this.biasGrad, dx];
    pin(used);
    try {
      await runCalls(this.runtime, backwardCalls(geometry, dyAddress, xAddress, wAddress, this.targets(dx), true));
    } catch (error) {
      dx?.dispose();
      throw error;
    } finally {
      unpin(used);
    }
    return dx;
  }

  private prepareBackward(dy: Tensor, options: BackwardOptions | undefined, where: string) {
    const inputGrad = wantsInputGrad(options, where);
    const x = cachedInput(this.input, where);
    const checked = checkBackward(this.runtime, dy, x, this.weight, this.options, where);
    const dx = inputGrad ? allocateTensor(this.runtime, x.shape, x.size) : null;
    return { ...checked, dx };
  }

  private targets(dx: Tensor | null) {
    return { dx: dx?._address ?? 0, dw: this.weightGrad._address, db: this.biasGrad?._address ?? 0 };
  }
}
