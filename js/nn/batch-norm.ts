// BatchNorm2d: per-channel normalisation with the batch's statistics in training (updating the running ones) and the running ones in evaluation, and its backward.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, positiveInteger, requireGradShape, requireOptionsObject } from "../core/checks.js";
import { runtimeArgument, type Runtime } from "../core/runtime.js";
import { shapeText } from "../core/shape.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { LayerBase, cachedInput, type Parameter } from "./layer.js";
import { buildOrFree, ownedTensor } from "./weighted.js";

export interface BatchNorm2dOptions {
  /** C, the channels of x [N, C, H, W]. */
  numFeatures: number;
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** The running statistics' update rate, in [0, 1] (default 0.1): running = (1 − momentum)·running + momentum·batch. */
  momentum?: number;
  /** Learn a per-channel scale γ (weight, from 1) and shift β (bias, from 0) (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without, evaluation too uses the batch's. */
  trackRunningStats?: boolean;
  /** The runtime to allocate in (default: the latest init()). */
  runtime?: Runtime;
}

const KEYS = ["numFeatures", "eps", "momentum", "affine", "trackRunningStats", "runtime"];

/**
 * nn.BatchNorm2d: y = γ·(x − μ)/√(σ² + ε) + β per channel. In training mode μ and σ² are the batch's
 * (the biased variance over N·H·W values), and the running statistics move towards them (the variance
 * unbiased, ·n/(n − 1)); in evaluation mode the running ones are used. Backward gives dx, dγ and dβ in
 * both modes (dx differentiates through the batch's statistics where they were used).
 */
export class BatchNorm2d extends LayerBase {
  protected readonly kind = "BatchNorm2d";
  readonly runtime: Runtime;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** γ, [C] (null without affine). */
  readonly weight: Tensor | null;
  /** β, [C] (null without affine). */
  readonly bias: Tensor | null;
  readonly weightGrad: Tensor | null;
  readonly biasGrad: Tensor | null;
  /** The running mean and (unbiased) variance, [C] (null without trackRunningStats). */
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** num_batches_tracked, [] (float32: exact to 2²⁴ batches; null without trackRunningStats). */
  private readonly batches: Tensor | null;
  /** The last forward's statistics: the batch's mean and variance (or the running ones), and 1/√(σ² + ε). */
  private readonly mean: Tensor;
  private readonly variance: Tensor;
  private readonly invStd: Tensor;
  private input: Tensor | null = null;
  /** Whether the last forward normalised with the batch's statistics (backward then goes through them). */
  private batchStatistics = true;

  constructor(options: BatchNorm2dOptions) {
    super();
    const where = "BatchNorm2d";
    const opts = requireOptionsObject(options, KEYS, where);
    const C = positiveInteger(opts.numFeatures, where, "options.numFeatures");
    const eps = opts.eps ?? 1e-5;
    if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps)) fail(ErrorCode.INVALID_OPTION, where, "options.eps", "a positive number", describe(eps));
    const momentum = opts.momentum ?? 0.1;
    if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1)) fail(ErrorCode.INVALID_OPTION, where, "options.momentum", "a number in [0, 1]", describe(momentum));
    this.affine = booleanOption(opts.affine, true, where, "options.affine");
    this.trackRunningStats = booleanOption(opts.trackRunningStats, true, where, "options.trackRunningStats");
    this.runtime = runtimeArgument(opts.runtime, where, "options.runtime");
    this.numFeatures = C;
    this.eps = eps;
    this.momentum = momentum;
    const ones = () => new Float32Array(C).fill(1);
    const t = buildOrFree((made) => ({
      weight: this.affine ? ownedTensor(this.runtime, [C], ones, made, where) : null,
      bias: this.affine ? ownedTensor(this.runtime, [C], null, made, where) : null,
      weightGrad: this.affine ? ownedTensor(this.runtime, [C], null, made, where) : null,
      biasGrad: this.affine ? ownedTensor(this.runtime, [C], null, made, where) : null,
      runningMean: this.trackRunningStats ? ownedTensor(this.runtime, [C], null, made, where) : null,
      runningVar: this.trackRunningStats ? ownedTensor(this.runtime, [C], ones, made, where) : null,
      mean: ownedTensor(this.runtime, [C], null, made, where),
      variance: ownedTensor(this.runtime, [C], null, made, where),
      invStd: ownedTensor(this.runtime, [C], null, made, where),
      batches: this.trackRunningStats ? ownedTensor(this.runtime, [], null, made, where) : null,
    }));
    this.weight = t.weight;
    this.bias = t.bias;
    this.weightGrad = t.weightGrad;
    this.biasGrad = t.biasGrad;
    this.runningMean = t.runningMean;
    this.runningVar = t.runningVar;
    this.mean = t.mean;
    this.variance = t.variance;
    this.invStd = t.invStd;
    this.batches = t.batches;
  }

  /** Training forwards so far (PyTorch's num_batches_tracked; 0 without trackRunningStats). */
  get numBatchesTracked(): number {
    return this.batches ? this.batches.toFloat32Array()[0]! : 0;
  }

  override get name(): string {
    return `BatchNorm2d(${this.numFeatures})`;
  }

  /** y = BN(x); keeps x (not a copy) for backward(). In training mode also updates the running statistics. */
  forward(x: Tensor): Tensor {
    const where = "BatchNorm2d.forward";
    // Its own tensors first: a disposed layer would otherwise run its kernels on address 0.
    if (this.invStd.disposed) fail(ErrorCode.DISPOSED, where, "this", "a live layer", `a disposed ${this.name}`);
    const [N, C, H, W] = this.checkX(x, where);
    const k = this.runtime.kernels;
    const plane = H * W;
    const batch = this.training || !this.trackRunningStats;
    if (batch && this.training && N * plane < 2) {
      fail(ErrorCode.DIMENSION, where, "x", "more than one value per channel in training mode (N·H·W ≥ 2)", `shape ${shapeText(x.shape)}`);
    }
    const y = allocateTensor(this.runtime, x.shape, where);
    runKernel([y], () => {
      let mean = this.runningMean?._address ?? 0, variance = this.runningVar?._address ?? 0;
      if (batch) {
        k.batchNormStatistics(x._address, this.mean._address, this.variance._address, N, C, plane);
        [mean, variance] = [this.mean._address, this.variance._address];
        if (this.training && this.runningMean && this.runningVar) {
          k.batchNormUpdateRunning(this.runningMean._address, this.runningVar._address, mean, variance, C, this.momentum, N * plane);
        }
      } else {
        // The running statistics, copied: a later training forward may move them before this backward.
        k.copyTensor(mean, this.mean._address, C);
        k.copyTensor(variance, this.variance._address, C);
        [mean, variance] = [this.mean._address, this.variance._address];
      }
      k.batchNormForward(x._address, y._address, mean, variance, this.weight?._address ?? 0, this.bias?._address ?? 0, this.invStd._address,
        N, C, plane, this.eps);
    });
    if (this.training && this.batches) this.batches.write([this.numBatchesTracked + 1]);
    this.batchStatistics = batch;
    this.input = x;
    return y;
  }

  /** Adds dγ and dβ into weightGrad and biasGrad, and returns dx (null with { inputGrad: false }). */
  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const x = cachedInput(this.input, where);
    tensorAddress(dy, this.runtime, where, "dy");
    requireGradShape(dy, x.shape, where);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const dx = inputGrad ? allocateTensor(this.runtime, x.shape, where) : null;
    runKernel([dx], () => this.runtime.kernels.batchNormBackward(x._address, dy._address, dx?._address ?? 0, this.mean._address, this.invStd._address,
      this.weight?._address ?? 0, this.weightGrad?._address ?? 0, this.biasGrad?._address ?? 0, N, C, H * W, this.batchStatistics, true));
    return dx;
  }

  /** γ and β with their gradients (none without affine). */
  parameters(): Parameter[] {
    if (!this.weight || !this.bias || !this.weightGrad || !this.biasGrad) return [];
    return [{ name: "weight", value: this.weight, grad: this.weightGrad }, { name: "bias", value: this.bias, grad: this.biasGrad }];
  }

  /** weight and bias, then running_mean, running_var and num_batches_tracked (saved as I64), as PyTorch's. */
  protected override namedState(): [string, Tensor][] {
    const state = super.namedState();
    if (this.runningMean && this.runningVar && this.batches) {
      state.push(["running_mean", this.runningMean], ["running_var", this.runningVar], ["num_batches_tracked", this.batches]);
    }
    return state;
  }

  zeroGrad(): void {
    this.weightGrad?.write(new Float32Array(this.numFeatures));
    this.biasGrad?.write(new Float32Array(this.numFeatures));
  }

  dispose(): void {
    for (const t of [this.weight, this.bias, this.weightGrad, this.biasGrad, this.runningMean, this.runningVar, this.mean, this.variance, this.invStd, this.batches]) t?.dispose();
    this.input = null;
  }

  private checkX(x: Tensor, where: string): [number, number, number, number] {
    const own = runtimeOf(x, where, "x");
    if (own !== this.runtime) {
      fail(ErrorCode.FOREIGN_TENSOR, where, "x", `a tensor of ${this.runtime.label}, which this ${this.name} was built in`, `one of ${own.label}`);
    }
    if (x.shape.length !== 4 || x.shape[1] !== this.numFeatures) {
      const code = x.shape.length === 4 ? ErrorCode.CHANNELS : ErrorCode.RANK;
      fail(code, where, "x", `[N, ${this.numFeatures}, H, W] (this ${this.name} was built for numFeatures = ${this.numFeatures})`, `shape ${shapeText(x.shape)}`);
    }
    return x.shape as [number, number, number, number];
  }
}
