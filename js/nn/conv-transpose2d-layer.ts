// ConvTranspose2d, the layer: owns weight and bias, caches its input in forward, accumulates gradients in backward, on this thread or the pool.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, integerOption, positiveInteger, requireOptionsObject } from "../core/checks.js";
import { Random } from "../core/random.js";
import { runtimeArgument, type Runtime } from "../core/runtime.js";
import { allocateTensor, pin, unpin, type Tensor } from "../core/tensor.js";
import { kernelSizeOption } from "../conv/geometry.js";
import {
  CONV_TRANSPOSE_OPTION_KEYS, checkTransposedBackward, transposedBackwardRun, transposedGeometry, type ConvTranspose2dOptions,
} from "../conv/transposed.js";
import { forwardConvTranspose2d, forwardConvTranspose2dAsync, runTransposed, runTransposedAsync } from "../conv/conv-transpose2d.js";
import { cachedInput, wantsInputGrad, type BackwardOptions } from "./layer.js";
import { WeightedLayer } from "./weighted.js";

export interface ConvTranspose2dLayerOptions extends ConvTranspose2dOptions {
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

const LAYER_KEYS = ["inChannels", "outChannels", "kernelSize", ...CONV_TRANSPOSE_OPTION_KEYS, "bias", "seed", "runtime"];

/**
 * A transposed 2-D convolution layer (nn.ConvTranspose2d semantics: weight [C_in, C_out / groups, KH,
 * KW]). Initialised as Conv2d, with PyTorch's fan-in for this weight, fan_in = (C_out / groups)·KH·KW:
 * weight U(±√(6 / fan_in)), bias U(±1 / √fan_in). Its tensors live until dispose().
 */
export class ConvTranspose2d extends WeightedLayer {
  protected readonly kind = "ConvTranspose2d";
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  /** The options (stride, pad, outputPadding, dilation, groups) this layer passes to convTranspose2d. */
  readonly options: Readonly<ConvTranspose2dOptions>;

  constructor(options: ConvTranspose2dLayerOptions) {
    const where = "ConvTranspose2d";
    const opts = requireOptionsObject(options, LAYER_KEYS, where);
    const inChannels = positiveInteger(opts.inChannels, where, "options.inChannels");
    const outChannels = positiveInteger(opts.outChannels, where, "options.outChannels");
    const kernelSize = kernelSizeOption(opts.kernelSize, where, "options.kernelSize");
    const withBias = booleanOption(opts.bias, true, where, "options.bias");
    const random = new Random(integerOption(opts.seed, 0, where, "options.seed"));
    const layerOptions: ConvTranspose2dOptions = {};
    for (const key of CONV_TRANSPOSE_OPTION_KEYS) if (opts[key] !== undefined) (layerOptions as Record<string, unknown>)[key] = opts[key];
    const groups = layerOptions.groups ?? 1;
    if (typeof groups !== "number" || !Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      fail(ErrorCode.GROUPS, where, "options.groups",
        `a positive integer dividing both options.inChannels = ${inChannels} and options.outChannels = ${outChannels}`, describe(groups));
    }
    const weightShape = [inChannels, outChannels / groups, kernelSize[0], kernelSize[1]];
    // The options checked now, on an input large enough for any pad, so that a bad one fails here.
    transposedGeometry([1, inChannels, 1 << 20, 1 << 20], weightShape, layerOptions, where);
    super(runtimeArgument(opts.runtime, where, "options.runtime"), weightShape, weightShape[1]! * kernelSize[0] * kernelSize[1], withBias, random, where,
      outChannels);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.options = Object.freeze(layerOptions);
  }

  override get name(): string {
    const groups = this.options.groups && this.options.groups > 1 ? `, groups ${this.options.groups}` : "";
    return `ConvTranspose2d(${this.inChannels} → ${this.outChannels}, ${this.kernelSize[0]}×${this.kernelSize[1]}${groups})`;
  }

  /** y = convTranspose2d(x, weight, bias); keeps x (not a copy) for backward(). */
  forward(x: Tensor): Tensor {
    const where = "ConvTranspose2d.forward";
    const y = forwardConvTranspose2d(this.checkX(x, where), this.weight, this.bias, this.options, where);
    this.input = x;
    return y;
  }

  /** forward(), on the runtime's worker threads. */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    const where = "ConvTranspose2d.forwardAsync";
    const y = await forwardConvTranspose2dAsync(this.checkX(x, where), this.weight, this.bias, this.options, where);
    this.input = x;
    return y;
  }

  /** Adds dL/dw and dL/db for the last forward() input into weightGrad and biasGrad; returns dL/dx (null with { inputGrad: false }). */
  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const { checked, dx } = this.prepareBackward(dy, inputGrad, where);
    try {
      runTransposed(this.runtime, () => transposedBackwardRun(this.runtime, checked, this.targets(dx), true, where), where);
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
    const where = "ConvTranspose2d.backwardAsync";
    const { checked, dx } = this.prepareBackward(dy, wantsInputGrad(options, where), where);
    const used = [dy, this.input, this.weight, this.weightGrad, this.biasGrad, dx];
    pin(used);
    try {
      await runTransposedAsync(this.runtime, () => transposedBackwardRun(this.runtime, checked, this.targets(dx), true, where), where);
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
        ? `; its last axis is ${this.inChannels}: is x NHWC? ConvTranspose2d takes NCHW` : "";
    return this.checkInput(x, where, 4, `[N, ${this.inChannels}, H, W]`, { 1: this.inChannels }, `inChannels = ${this.inChannels}`, nhwc);
  }

  private prepareBackward(dy: Tensor, inputGrad: boolean, where: string) {
    const x = cachedInput(this.input, where);
    const checked = checkTransposedBackward(this.runtime, dy, x, this.weight, this.options, where);
    const dx = inputGrad ? allocateTensor(this.runtime, x.shape, where) : null;
    return { checked, dx };
  }

  private targets(dx: Tensor | null) {
    return { dx: dx?._address ?? 0, dw: this.weightGrad._address, db: this.biasGrad?._address ?? 0 };
  }
}
