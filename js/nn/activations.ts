// The elementwise activations, functions and layers: relu, sigmoid, tanh and leakyRelu with their backward, and ReLU, Sigmoid, Tanh, LeakyReLU.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { requireGradShape, requireOptionsObject } from "../core/checks.js";
import type { KernelExports } from "../core/kernels.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { ParameterFreeLayer } from "./layer.js";

type Forward = (k: KernelExports, x: number, y: number, count: number) => void;
type Backward = (k: KernelExports, x: number, dy: number, dx: number, count: number) => void;

/** y = f(x) elementwise by a kernel, any shape. */
function elementwise(x: Tensor, kernel: Forward, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const y = allocateTensor(runtime, x.shape, where);
  runKernel([y], () => kernel(runtime.kernels, xAddress, y._address, x.size));
  return y;
}

/** dx = f'(x)·dy elementwise by a kernel; dy has x's shape. */
function elementwiseGradient(dy: Tensor, x: Tensor, kernel: Backward, where: string): Tensor {
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  requireGradShape(dy, x.shape, where);
  const dx = allocateTensor(runtime, x.shape, where);
  runKernel([dx], () => kernel(runtime.kernels, xAddress, dyAddress, dx._address, x.size));
  return dx;
}

const reluKernel: Forward = (k, x, y, n) => k.reluForward(x, y, n);
const reluGradient: Backward = (k, x, dy, dx, n) => k.reluBackward(x, dy, dx, n);
const sigmoidKernel: Forward = (k, x, y, n) => k.sigmoidForward(x, y, n);
const sigmoidGradient: Backward = (k, x, dy, dx, n) => k.sigmoidBackward(x, dy, dx, n);
const tanhKernel: Forward = (k, x, y, n) => k.tanhForward(x, y, n);
const tanhGradient: Backward = (k, x, dy, dx, n) => k.tanhBackward(x, dy, dx, n);

/** y = max(x, 0) elementwise, any shape (torch.relu; NaN stays NaN). */
export function relu(x: Tensor): Tensor {
  return elementwise(x, reluKernel, "relu");
}

/** dL/dx = dy where x > 0, else 0 (the gradient at 0 is 0, as in PyTorch); dy has x's shape. */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwiseGradient(dy, x, reluGradient, "reluBackward");
}

/** y = 1 / (1 + e^−x) elementwise (torch.sigmoid). */
export function sigmoid(x: Tensor): Tensor {
  return elementwise(x, sigmoidKernel, "sigmoid");
}

/** dL/dx = dy·σ(x)·(1 − σ(x)). */
export function sigmoidBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwiseGradient(dy, x, sigmoidGradient, "sigmoidBackward");
}

/** y = tanh(x) elementwise (torch.tanh). */
export function tanh(x: Tensor): Tensor {
  return elementwise(x, tanhKernel, "tanh");
}

/** dL/dx = dy·(1 − tanh²(x)). */
export function tanhBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwiseGradient(dy, x, tanhGradient, "tanhBackward");
}

/** y = x where x > 0, else negativeSlope·x (torch.nn.functional.leaky_relu; default slope 0.01). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const slope = slopeOf(negativeSlope, "leakyRelu", "negativeSlope");
  return elementwise(x, (k, a, y, n) => k.leakyReluForward(a, y, n, slope), "leakyRelu");
}

/** dL/dx = dy where x > 0, else negativeSlope·dy (at 0: the slope's, as PyTorch). */
export function leakyReluBackward(dy: Tensor, x: Tensor, negativeSlope = 0.01): Tensor {
  const slope = slopeOf(negativeSlope, "leakyReluBackward", "negativeSlope");
  return elementwiseGradient(dy, x, (k, a, g, d, n) => k.leakyReluBackward(a, g, d, n, slope), "leakyReluBackward");
}

function slopeOf(value: unknown, where: string, argument: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(ErrorCode.INVALID_OPTION, where, argument, "a finite number", describe(value));
  return value;
}

/** The ReLU layer: no parameters; keeps its input (not a copy) for backward. */
export class ReLU extends ParameterFreeLayer {
  constructor() {
    super("ReLU", (x, where) => elementwise(x, reluKernel, where), (dy, x, where) => elementwiseGradient(dy, x, reluGradient, where));
  }
}

/** The Sigmoid layer (nn.Sigmoid). */
export class Sigmoid extends ParameterFreeLayer {
  constructor() {
    super("Sigmoid", (x, where) => elementwise(x, sigmoidKernel, where), (dy, x, where) => elementwiseGradient(dy, x, sigmoidGradient, where));
  }
}

/** The Tanh layer (nn.Tanh). */
export class Tanh extends ParameterFreeLayer {
  constructor() {
    super("Tanh", (x, where) => elementwise(x, tanhKernel, where), (dy, x, where) => elementwiseGradient(dy, x, tanhGradient, where));
  }
}

/** The LeakyReLU layer (nn.LeakyReLU): negativeSlope defaults to 0.01. */
export class LeakyReLU extends ParameterFreeLayer {
  readonly negativeSlope: number;

  constructor(options: { negativeSlope?: number } = {}) {
    const opts = requireOptionsObject(options, ["negativeSlope"], "LeakyReLU");
    const slope = opts.negativeSlope === undefined ? 0.01 : slopeOf(opts.negativeSlope, "LeakyReLU", "options.negativeSlope");
    super("LeakyReLU",
      (x, where) => elementwise(x, (k, a, y, n) => k.leakyReluForward(a, y, n, slope), where),
      (dy, x, where) => elementwiseGradient(dy, x, (k, a, g, d, n) => k.leakyReluBackward(a, g, d, n, slope), where));
    this.negativeSlope = slope;
  }
}

