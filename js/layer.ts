// What every layer is (forward, backward, parameters, zeroGrad, dispose) and the checks the layers share.

import { ErrorCode, describe, fail } from "./errors.js";
import { checkOptionsObject } from "./geometry.js";
import type { Parameter } from "./conv2d-layer.js";
import type { Runtime } from "./runtime.js";
import { Tensor, allocateTensor } from "./tensor.js";

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

/** @internal An integer seed (default 0), or ERR_INVALID_OPTION. */
export function seedOption(value: unknown, where: string): number {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value))) {
    fail(ErrorCode.INVALID_OPTION, where, "options.seed", "an integer", describe(value));
  }
  return (value as number | undefined) ?? 0;
}
