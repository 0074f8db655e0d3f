// What every layer is (forward, backward, parameters, zeroGrad, dispose) and the checks the layers share.

import { ErrorCode, describe, fail } from "./errors.js";
import { checkOptionsObject } from "./geometry.js";
import type { Random } from "./random.js";
import type { Runtime } from "./runtime.js";
import { Tensor, allocateTensor } from "./tensor.js";

/** A learnable tensor and its gradient, as an optimiser sees them. */
export interface Parameter {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/** Options of a layer's backward(). */
export interface BackwardOptions {
  /** Compute and return dL/dx (default true); a network's first layer needs none. */
  inputGrad?: boolean;
}

/**
 * A layer: forward(x) keeps what backward needs (x itself, not a copy: do not dispose it before
 * backward); backward(dy) adds its parameters' gradients into their grad tensors and returns dL/dx.
 * Conv2d, Linear, ReLU, MaxPool2x2, Flatten and Sequential all are one.
 */
export interface Layer {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor, options?: BackwardOptions): Tensor | null;
  parameters(): Parameter[];
  zeroGrad(): void;
  dispose(): void;
}

/**
 * What Conv2d and Linear share: a weight and an optional bias with their gradient
 * accumulators, and the input forward() kept. Weights are Kaiming-uniform for ReLU networks,
 * U(±√(6 / fanIn)), the bias U(±1 / √fanIn) as in PyTorch; drawn weight first, then bias, from `random`.
 */
export abstract class WeightedLayer implements Layer {
  readonly runtime: Runtime;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** Σ of dL/dw over backward() calls since the last zeroGrad(). */
  readonly weightGrad: Tensor;
  readonly biasGrad: Tensor | null;
  protected input: Tensor | null = null;

  constructor(runtime: Runtime, weightShape: readonly number[], fanIn: number, withBias: boolean, random: Random) {
    this.runtime = runtime;
    const outputs = weightShape[0]!;
    const weightBound = Math.sqrt(6 / fanIn);
    const biasBound = 1 / Math.sqrt(fanIn);
    const size = weightShape.reduce((a, b) => a * b, 1);
    const tensors = buildOrFree((made) => ({
      weight: ownedTensor(runtime, weightShape, random.uniformArray(size, -weightBound, weightBound), made),
      weightGrad: ownedTensor(runtime, weightShape, null, made),
      bias: withBias ? ownedTensor(runtime, [outputs], random.uniformArray(outputs, -biasBound, biasBound), made) : null,
      biasGrad: withBias ? ownedTensor(runtime, [outputs], null, made) : null,
    }));
    this.weight = tensors.weight;
    this.weightGrad = tensors.weightGrad;
    this.bias = tensors.bias;
    this.biasGrad = tensors.biasGrad;
  }

  abstract forward(x: Tensor): Tensor;
  abstract backward(dy: Tensor, options?: BackwardOptions): Tensor | null;

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

/** @internal The inputGrad flag of backward() options (default true). */
export function wantsInputGrad(options: BackwardOptions | undefined, where: string): boolean {
  const opts = checkOptionsObject(options, ["inputGrad"], where, "options");
  if (opts.inputGrad !== undefined && typeof opts.inputGrad !== "boolean") {
    fail(ErrorCode.INVALID_OPTION, where, "options.inputGrad", "true or false", describe(opts.inputGrad));
  }
  return opts.inputGrad ?? true;
}

/** @internal The input forward() kept, or ERR_INVALID_OPTION when backward() comes first. */
export function cachedInput(input: Tensor | null, where: string): Tensor {
  if (input === null) fail(ErrorCode.INVALID_OPTION, where, "this", "a forward() call before backward()", "no cached input");
  return input;
}

/** @internal ERR_RANK unless t has `rank` dimensions; `layout` names them ("[N, features]"). */
export function requireRank(t: Tensor, rank: number, layout: string, where: string, argument: string): void {
  if (t.shape.length !== rank) {
    fail(ErrorCode.RANK, where, argument, `a rank-${rank} tensor ${layout}`, `rank ${t.shape.length} ${describe([...t.shape])}`);
  }
}

/** @internal ERR_GRAD_SHAPE unless dy has exactly `shape`. */
export function requireGradShape(dy: Tensor, shape: readonly number[], where: string): void {
  if (dy.shape.length !== shape.length || shape.some((d, i) => dy.shape[i] !== d)) {
    fail(ErrorCode.GRAD_SHAPE, where, "dy", `the output's shape ${describe([...shape])}`, `shape ${describe([...dy.shape])}`);
  }
}

/**
 * @internal A tensor owned by a layer or optimiser (not tracked by scope()), holding data or zeros.
 * It joins `made`, so a constructor that fails halfway can free what it had made.
 */
export function ownedTensor(runtime: Runtime, shape: readonly number[], data: Float32Array | null, made: Tensor[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const t = allocateTensor(runtime, shape, size, false);
  made.push(t);
  return t.write(data ?? new Float32Array(size));
}

/** @internal Runs build(made); if it throws, disposes everything it had made first. */
export function buildOrFree<T>(build: (made: Tensor[]) => T): T {
  const made: Tensor[] = [];
  try {
    return build(made);
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
}

/** @internal A positive integer option, or ERR_DIMENSION naming it. */
export function positiveInteger(value: unknown, where: string, argument: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    fail(ErrorCode.DIMENSION, where, argument, "a positive integer", describe(value));
  }
  return value;
}

/** @internal The bias option of a layer (default true), or ERR_INVALID_OPTION. */
export function biasOption(value: unknown, where: string): boolean {
  if (value !== undefined && typeof value !== "boolean") fail(ErrorCode.INVALID_OPTION, where, "options.bias", "true or false", describe(value));
  return (value as boolean | undefined) ?? true;
}

/** @internal An integer seed (default 0), or ERR_INVALID_OPTION. */
export function seedOption(value: unknown, where: string): number {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value))) {
    fail(ErrorCode.INVALID_OPTION, where, "options.seed", "an integer", describe(value));
  }
  return (value as number | undefined) ?? 0;
}
