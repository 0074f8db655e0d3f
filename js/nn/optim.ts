// The optimisers as in torch.optim, updating parameters in place in wasm: a small Optimizer base, SGD (with momentum) and Adam.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { checkOptionsObject } from "../core/checks.js";
import type { Runtime } from "../core/runtime.js";
import { sameShape, shapeText } from "../core/shape.js";
import { Tensor, tensorAddress } from "../core/tensor.js";
import type { Parameter } from "./layer.js";
import { buildOrFree, ownedTensor } from "./weighted.js";

export interface SGDOptions {
  /** Learning rate (required), ≥ 0. */
  lr: number;
  /** Momentum μ ≥ 0 (default 0: plain SGD, no velocity buffers). */
  momentum?: number;
  /** L2 penalty λ ≥ 0 added to the gradient as λ·p (default 0). */
  weightDecay?: number;
}

export interface AdamOptions {
  /** Learning rate ≥ 0 (default 1e-3). */
  lr?: number;
  /** [β₁, β₂], each in [0, 1) (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** ε > 0 added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty λ ≥ 0 added to the gradient as λ·p (default 0; this is Adam's, not AdamW's, decay). */
  weightDecay?: number;
}

/**
 * What every optimiser has: the parameters it updates (all of one runtime), a learning rate a
 * schedule may change between steps, zeroGrad(), and per-parameter state buffers it owns.
 */
export abstract class Optimizer {
  protected readonly params: readonly Parameter[];
  protected readonly runtime: Runtime;
  private rate: number;
  /** The class, as errors name it (a literal, so that minified code keeps it). */
  protected abstract readonly kind: string;

  protected constructor(parameters: readonly Parameter[], lr: unknown, lrFallback: number | undefined, where: string) {
    this.runtime = checkParameters(parameters, where);
    this.params = [...parameters];
    this.rate = nonNegative(lr, lrFallback, where, "options.lr");
  }

  /** The learning rate; set it between steps for a schedule (a finite number ≥ 0). */
  get lr(): number {
    return this.rate;
  }

  set lr(value: number) {
    this.rate = nonNegative(value, undefined, this.kind, "lr");
  }

  /** One update of every parameter from its grad (which it does not clear: call zeroGrad()). */
  abstract step(): void;

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void {
    for (const p of this.params) p.grad.write(new Float32Array(p.grad.size));
  }

  /** Frees the optimiser's state buffers (not the parameters, which belong to their layers). */
  abstract dispose(): void;

  /** The value and grad addresses of parameter i, checked live and of this runtime. */
  protected addresses(i: number, where: string): [number, number] {
    const p = this.params[i]!;
    return [tensorAddress(p.value, this.runtime, where, `parameters[${i}].value`), tensorAddress(p.grad, this.runtime, where, `parameters[${i}].grad`)];
  }

  /** One owned zero tensor per parameter, shaped like it (freed together if one cannot be made). */
  protected stateBuffers(where: string): Tensor[] {
    return buildOrFree((made) => this.params.map((p) => ownedTensor(this.runtime, p.value.shape, null, made, where)));
  }
}

/**
 * Stochastic gradient descent with momentum, exactly torch.optim.SGD (dampening 0, not Nesterov):
 * g = grad + λ·p; v = μ·v + g (v starts at 0, so the first v is g); p −= lr·v.
 */
export class SGD extends Optimizer {
  protected readonly kind = "SGD";
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly velocity: readonly Tensor[] | null;

  constructor(parameters: readonly Parameter[], options: SGDOptions) {
    const where = "SGD";
    if (options === null || typeof options !== "object") fail(ErrorCode.INVALID_OPTION, where, "options", "an options object with lr", describe(options));
    const opts = checkOptionsObject(options, ["lr", "momentum", "weightDecay"], where, "options");
    super(parameters, opts.lr, undefined, where);
    this.momentum = nonNegative(opts.momentum, 0, where, "options.momentum");
    this.weightDecay = nonNegative(opts.weightDecay, 0, where, "options.weightDecay");
    this.velocity = this.momentum === 0 ? null : this.stateBuffers(where);
  }

  step(): void {
    const where = "SGD.step";
    const checked = this.params.map((_, i) => this.addresses(i, where));
    this.params.forEach((p, i) => {
      const [value, grad] = checked[i]!;
      const velocity = this.velocity ? tensorAddress(this.velocity[i], this.runtime, where, "velocity") : 0;
      this.runtime.kernels.sgdStep(value, grad, velocity, p.value.size, this.lr, this.momentum, this.weightDecay);
    });
  }

  dispose(): void {
    for (const t of this.velocity ?? []) t.dispose();
  }
}

/**
 * Adam, exactly torch.optim.Adam (not AMSGrad): g = grad + λ·p; m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
 * p −= lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε), with t the number of step() calls so far, from 1.
 */
export class Adam extends Optimizer {
  protected readonly kind = "Adam";
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken (t of the bias corrections). */
  stepCount = 0;
  private readonly m: readonly Tensor[];
  private readonly v: readonly Tensor[];

  constructor(parameters: readonly Parameter[], options: AdamOptions = {}) {
    const where = "Adam";
    const opts = checkOptionsObject(options, ["lr", "betas", "eps", "weightDecay"], where, "options");
    super(parameters, opts.lr, 1e-3, where);
    const betas: unknown = opts.betas ?? [0.9, 0.999];
    // Array.from: every() skips holes, and [, 0.5] must fail.
    if (!Array.isArray(betas) || betas.length !== 2 || !Array.from(betas as unknown[]).every((b) => typeof b === "number" && b >= 0 && b < 1)) {
      fail(ErrorCode.INVALID_OPTION, where, "options.betas", "[β₁, β₂], each a number in [0, 1)", describe(betas));
    }
    this.betas = [betas[0], betas[1]];
    this.eps = nonNegative(opts.eps, 1e-8, where, "options.eps");
    if (this.eps === 0) fail(ErrorCode.INVALID_OPTION, where, "options.eps", "a positive number", "0");
    this.weightDecay = nonNegative(opts.weightDecay, 0, where, "options.weightDecay");
    this.m = this.stateBuffers(where);
    try {
      this.v = this.stateBuffers(where);
    } catch (error) {
      for (const t of this.m) t.dispose();
      throw error;
    }
  }

  step(): void {
    const where = "Adam.step";
    const checked = this.params.map((_, i) => this.addresses(i, where));
    this.stepCount++;
    const [beta1, beta2] = this.betas;
    // In float64 once per step; the kernel gets them rounded to float32 as PyTorch's float32 tensors do.
    const stepSize = this.lr / (1 - beta1 ** this.stepCount);
    const correction2 = Math.sqrt(1 - beta2 ** this.stepCount);
    this.params.forEach((p, i) => {
      const [value, grad] = checked[i]!;
      this.runtime.kernels.adamStep(value, grad, tensorAddress(this.m[i], this.runtime, where, "m"), tensorAddress(this.v[i], this.runtime, where, "v"),
        p.value.size, beta1, beta2, this.eps, this.weightDecay, stepSize, correction2);
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

// A non-empty list of { value, grad } pairs of live tensors of one shape each, all from one runtime.
function checkParameters(parameters: unknown, where: string): Runtime {
  if (!Array.isArray(parameters) || parameters.length === 0) {
    fail(ErrorCode.INVALID_OPTION, where, "parameters", "a non-empty array of { value, grad } (layer.parameters())", describe(parameters));
  }
  const first = (parameters[0] as Parameter | undefined)?.value;
  if (!(first instanceof Tensor)) fail(ErrorCode.NOT_A_TENSOR, where, "parameters[0].value", "a Tensor", describe(first));
  const runtime = first.runtime;
  // Array.from: forEach skips holes, and a sparse list must fail here, not in step().
  Array.from(parameters as unknown[]).forEach((p: unknown, i: number) => {
    if (p === null || typeof p !== "object") fail(ErrorCode.INVALID_OPTION, where, `parameters[${i}]`, "{ value, grad }", describe(p));
    const { value, grad } = p as Parameter;
    tensorAddress(value, runtime, where, `parameters[${i}].value`);
    tensorAddress(grad, runtime, where, `parameters[${i}].grad`);
    if (!sameShape(value.shape, grad.shape)) {
      fail(ErrorCode.GRAD_SHAPE, where, `parameters[${i}].grad`, `the value's shape ${shapeText(value.shape)}`, `shape ${shapeText(grad.shape)}`);
    }
  });
  return runtime;
}

function nonNegative(value: unknown, fallback: number | undefined, where: string, argument: string): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    fail(ErrorCode.INVALID_OPTION, where, argument, "a finite number ≥ 0", describe(value));
  }
  return value;
}
