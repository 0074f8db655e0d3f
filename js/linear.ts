// linear and linearBackward (y = x·Wᵀ + b, W of shape [out, in] as in PyTorch) and the Linear layer.

import { ErrorCode, describe, fail } from "./errors.js";
import { checkOptionsObject } from "./geometry.js";
import { runKernel } from "./conv2d.js";
import {
  WeightedLayer, biasOption, cachedInput, positiveInteger, requireGradShape, requireRank, seedOption, wantsInputGrad,
  type BackwardOptions,
} from "./layer.js";
import { Random } from "./random.js";
import { currentRuntime, type Runtime } from "./runtime.js";
import { Tensor, allocateTensor, runtimeOf, tensorAddress } from "./tensor.js";

/** Which gradients linearBackward computes; each defaults to true. A skipped one comes back null. */
export interface LinearGradientSelection {
  dx?: boolean;
  dw?: boolean;
  db?: boolean;
}

export interface LinearGradients {
  /** dL/dx, [N, in]; null when not requested. */
  dx: Tensor | null;
  /** dL/dW, [out, in]; null when not requested. */
  dw: Tensor | null;
  /** dL/db, [out]; null when not requested. */
  db: Tensor | null;
}

interface LinearShape {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

/** y = x·Wᵀ + b (torch.nn.functional.linear): x [N, in], w [out, in], b [out] or null; y is [N, out]. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null | undefined): Tensor {
  const where = "linear";
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const bAddress = b === null || b === undefined ? 0 : tensorAddress(b, runtime, where, "b");
  const s = linearShape(x, w, where);
  if (b) checkBias(b, s.outFeatures, where);
  const y = allocateTensor(runtime, [s.batch, s.outFeatures], s.batch * s.outFeatures);
  runKernel([y], () => runtime.kernels.linearForward(xAddress, wAddress, bAddress, y._address, s.batch, s.inFeatures, s.outFeatures));
  return y;
}

/** Gradients through y = x·Wᵀ + b given dy = dL/dy ([N, out]): dx = dy·W, dW = dyᵀ·x, db = Σ_n dy. */
export function linearBackward(dy: Tensor, x: Tensor, w: Tensor, which?: LinearGradientSelection): LinearGradients {
  const where = "linearBackward";
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const s = linearShape(x, w, where);
  requireGradShape(dy, [s.batch, s.outFeatures], where);
  const selection = checkOptionsObject(which, ["dx", "dw", "db"], where, "which");
  for (const key of ["dx", "dw", "db"] as const) {
    if (selection[key] !== undefined && typeof selection[key] !== "boolean") {
      fail(ErrorCode.INVALID_OPTION, where, `which.${key}`, "true or false", describe(selection[key]));
    }
  }
  const made: Tensor[] = [];
  const make = (wanted: boolean | undefined, shape: number[]): Tensor | null => {
    if (wanted === false) return null;
    const t = allocateTensor(runtime, shape, shape.reduce((a, c) => a * c, 1));
    made.push(t);
    return t;
  };
  try {
    const dx = make(selection.dx, [s.batch, s.inFeatures]);
    const dw = make(selection.dw, [s.outFeatures, s.inFeatures]);
    const db = make(selection.db, [s.outFeatures]);
    runLinearBackward(runtime, s, dyAddress, xAddress, wAddress, { dx: dx?._address ?? 0, dw: dw?._address ?? 0, db: db?._address ?? 0 }, false);
    return { dx, dw, db };
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
}

export interface LinearLayerOptions {
  inFeatures: number;
  outFeatures: number;
  /** Learn a bias (default true). */
  bias?: boolean;
  /** Seed of the weight initialisation (default 0): the same seed gives the same weights everywhere. */
  seed?: number;
  /** The runtime to allocate in (default: the latest init()). */
  runtime?: Runtime;
}

const LAYER_KEYS = ["inFeatures", "outFeatures", "bias", "seed", "runtime"];

/**
 * A fully connected layer (nn.Linear semantics, W of shape [out, in]). Initialised as Conv2d:
 * W ~ U(±√(6 / in)) (Kaiming-uniform for ReLU networks), b ~ U(±1 / √in) as in PyTorch.
 */
export class Linear extends WeightedLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(options: LinearLayerOptions) {
    const where = "Linear";
    if (options === null || typeof options !== "object") fail(ErrorCode.INVALID_OPTION, where, "options", "an options object", describe(options));
    const opts = checkOptionsObject(options, LAYER_KEYS, where, "options");
    const inFeatures = positiveInteger(opts.inFeatures, where, "options.inFeatures");
    const outFeatures = positiveInteger(opts.outFeatures, where, "options.outFeatures");
    const withBias = biasOption(opts.bias, where);
    const random = new Random(seedOption(opts.seed, where));
    super(opts.runtime ?? currentRuntime(where), [outFeatures, inFeatures], inFeatures, withBias, random);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
  }

  /** y = x·Wᵀ + b; keeps x (not a copy) for backward(): do not dispose it before then. */
  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight, this.bias);
    this.input = x;
    return y;
  }

  /** Adds dL/dW and dL/db into weightGrad and biasGrad and returns dL/dx (null with { inputGrad: false }). */
  backward(dy: Tensor, options?: BackwardOptions): Tensor | null {
    const where = "Linear.backward";
    const inputGrad = wantsInputGrad(options, where);
    const x = cachedInput(this.input, where);
    const runtime = this.runtime;
    const dyAddress = tensorAddress(dy, runtime, where, "dy");
    const xAddress = tensorAddress(x, runtime, where, "x");
    const wAddress = tensorAddress(this.weight, runtime, where, "this.weight");
    const s = linearShape(x, this.weight, where);
    requireGradShape(dy, [s.batch, s.outFeatures], where);
    const dx = inputGrad ? allocateTensor(runtime, x.shape, x.size) : null;
    runKernel(dx ? [dx] : [], () => runLinearBackward(runtime, s, dyAddress, xAddress, wAddress, {
      dx: dx?._address ?? 0, dw: this.weightGrad._address, db: this.biasGrad?._address ?? 0,
    }, true));
    return dx;
  }
}

function linearShape(x: Tensor, w: Tensor, where: string): LinearShape {
  requireRank(x, 2, "[N, in]", where, "x");
  requireRank(w, 2, "[out, in]", where, "w");
  const [batch, inFeatures] = x.shape as [number, number];
  const [outFeatures, weightIn] = w.shape as [number, number];
  if (weightIn !== inFeatures) {
    fail(ErrorCode.CHANNELS, where, "w", `w.shape[1] = x.shape[1] = ${inFeatures} (the input features)`,
      `w.shape[1] = ${weightIn} (w shape ${describe([...w.shape])})`);
  }
  return { batch, inFeatures, outFeatures };
}

function checkBias(b: Tensor, outFeatures: number, where: string): void {
  if (b.shape.length !== 1 || b.shape[0] !== outFeatures) {
    fail(ErrorCode.BIAS, where, "b", `a rank-1 tensor [out] = [${outFeatures}]`, `shape ${describe([...b.shape])}`);
  }
}

// dx is always overwritten; with accumulate, dw and db are added onto what they hold (a layer summing gradients).
function runLinearBackward(
  runtime: Runtime, s: LinearShape, dy: number, x: number, w: number,
  targets: { dx: number; dw: number; db: number }, accumulate: boolean,
): void {
  const k = runtime.kernels;
  const flag = accumulate ? 1 : 0;
  if (targets.db) k.linearBackwardBias(dy, targets.db, s.batch, s.outFeatures, flag);
  if (targets.dw) k.linearBackwardWeight(dy, x, targets.dw, s.batch, s.inFeatures, s.outFeatures, flag);
  if (targets.dx) k.linearBackwardInput(dy, w, targets.dx, s.batch, s.inFeatures, s.outFeatures);
}
