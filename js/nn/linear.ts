// linear and linearBackward (y = x·Wᵀ + b, W of shape [out, in] as in PyTorch) and the Linear layer.

import { ErrorCode, fail } from "../core/errors.js";
import {
  booleanOption, checkGradientSelection, integerOption, positiveInteger, requireGradShape, requireOptionsObject, requireRank,
  type GradientSelection, type SelectedGradient,
} from "../core/checks.js";
import { Random } from "../core/random.js";
import { runtimeArgument, type Runtime } from "../core/runtime.js";
import { shapeText, sizeOf } from "../core/shape.js";
import { Tensor, allocateTensor, runKernel, runtimeOf, tensorAddress } from "../core/tensor.js";
import { cachedInput } from "./layer.js";
import { WeightedLayer } from "./weighted.js";

/** dx, dw and db of linearBackward, typed by the selection S as conv2dBackward's are. */
export interface LinearGradients<S extends GradientSelection = GradientSelection> {
  /** dL/dx, [N, in]; null when not requested. */
  dx: SelectedGradient<S, "dx">;
  /** dL/dW, [out, in]; null when not requested. */
  dw: SelectedGradient<S, "dw">;
  /** dL/db, [out]; null when not requested. */
  db: SelectedGradient<S, "db">;
}

/** @deprecated The same as GradientSelection (kept for code written against 0.1). */
export type LinearGradientSelection = GradientSelection;

interface LinearShape {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

/** y = x·Wᵀ + b (torch.nn.functional.linear): x [N, in], w [out, in], b [out] or null; y is [N, out]. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null | undefined): Tensor {
  return linearForward(x, w, b, "linear");
}

/** Gradients through y = x·Wᵀ + b given dy = dL/dy ([N, out]): dx = dy·W, dW = dyᵀ·x, db = Σ_n dy. */
export function linearBackward<const S extends GradientSelection = {}>(dy: Tensor, x: Tensor, w: Tensor, which?: S): LinearGradients<S> {
  const where = "linearBackward";
  const runtime = runtimeOf(dy, where, "dy");
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const s = linearShape(x, w, where);
  requireGradShape(dy, [s.batch, s.outFeatures], where);
  const selection = checkGradientSelection(which, where);
  const made: (Tensor | null)[] = [];
  const make = (wanted: boolean, shape: number[]): Tensor | null => {
    const t = wanted ? allocateTensor(runtime, shape, where) : null;
    made.push(t);
    return t;
  };
  let gradients: { dx: Tensor | null; dw: Tensor | null; db: Tensor | null } = { dx: null, dw: null, db: null };
  runKernel(made, () => {
    gradients = {
      dx: make(selection.dx, [s.batch, s.inFeatures]),
      dw: make(selection.dw, [s.outFeatures, s.inFeatures]),
      db: make(selection.db, [s.outFeatures]),
    };
    runLinearBackward(runtime, s, dyAddress, xAddress, wAddress, targets(gradients), false);
  });
  return gradients as unknown as LinearGradients<S>;
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
  protected readonly kind = "Linear";
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(options: LinearLayerOptions) {
    const where = "Linear";
    const opts = requireOptionsObject(options, LAYER_KEYS, where);
    const inFeatures = positiveInteger(opts.inFeatures, where, "options.inFeatures");
    const outFeatures = positiveInteger(opts.outFeatures, where, "options.outFeatures");
    const withBias = booleanOption(opts.bias, true, where, "options.bias");
    const random = new Random(integerOption(opts.seed, 0, where, "options.seed"));
    super(runtimeArgument(opts.runtime, where, "options.runtime"), [outFeatures, inFeatures], inFeatures, withBias, random, where);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
  }

  override get name(): string {
    return `Linear(${this.inFeatures} → ${this.outFeatures})`;
  }

  /** y = x·Wᵀ + b; keeps x (not a copy) for backward(): do not dispose it before then. */
  forward(x: Tensor): Tensor {
    const where = "Linear.forward";
    // A conv stack's output that was not flattened: say so.
    const unflattened = (shape: readonly number[]) =>
      shape.length > 2 && sizeOf(shape.slice(1)) === this.inFeatures ? `; its features would fit once flattened (add a Flatten before it)` : "";
    this.checkInput(x, where, 2, `[N, ${this.inFeatures}]`, { 1: this.inFeatures }, `inFeatures = ${this.inFeatures}`, unflattened);
    const y = linearForward(x, this.weight, this.bias, where);
    this.input = x;
    return y;
  }

  /** Adds dL/dW and dL/db into weightGrad and biasGrad and returns dL/dx (null with { inputGrad: false }). */
  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const x = cachedInput(this.input, where);
    const runtime = this.runtime;
    const dyAddress = tensorAddress(dy, runtime, where, "dy");
    const xAddress = tensorAddress(x, runtime, where, "x");
    const wAddress = tensorAddress(this.weight, runtime, where, "this.weight");
    const s = linearShape(x, this.weight, where);
    requireGradShape(dy, [s.batch, s.outFeatures], where);
    const dx = inputGrad ? allocateTensor(runtime, x.shape, where) : null;
    runKernel([dx], () => runLinearBackward(runtime, s, dyAddress, xAddress, wAddress, {
      dx: dx?._address ?? 0, dw: this.weightGrad._address, db: this.biasGrad?._address ?? 0,
    }, true));
    return dx;
  }
}

function linearForward(x: Tensor, w: Tensor, b: Tensor | null | undefined, where: string): Tensor {
  const runtime = runtimeOf(x, where, "x");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const bAddress = b === null || b === undefined ? 0 : tensorAddress(b, runtime, where, "b");
  const s = linearShape(x, w, where);
  if (b && (b.shape.length !== 1 || b.shape[0] !== s.outFeatures)) {
    fail(ErrorCode.BIAS, where, "b", `a rank-1 tensor [out] = [${s.outFeatures}]`, `shape ${shapeText(b.shape)}`);
  }
  const y = allocateTensor(runtime, [s.batch, s.outFeatures], where);
  runKernel([y], () => runtime.kernels.linearForward(xAddress, wAddress, bAddress, y._address, s.batch, s.inFeatures, s.outFeatures));
  return y;
}

function linearShape(x: Tensor, w: Tensor, where: string): LinearShape {
  requireRank(x, 2, "[N, in]", where, "x");
  requireRank(w, 2, "[out, in]", where, "w");
  const [batch, inFeatures] = x.shape as [number, number];
  const [outFeatures, weightIn] = w.shape as [number, number];
  if (weightIn !== inFeatures) {
    fail(ErrorCode.CHANNELS, where, "w", `w.shape[1] = x.shape[1] = ${inFeatures} (the input features)`,
      `w.shape[1] = ${weightIn} (w shape ${shapeText(w.shape)})`);
  }
  return { batch, inFeatures, outFeatures };
}

function targets(g: { dx: Tensor | null; dw: Tensor | null; db: Tensor | null }) {
  return { dx: g.dx?._address ?? 0, dw: g.dw?._address ?? 0, db: g.db?._address ?? 0 };
}

// dx is always overwritten; with accumulate, dw and db are added onto what they hold (a layer summing gradients).
function runLinearBackward(
  runtime: Runtime, s: LinearShape, dy: number, x: number, w: number,
  targets: { dx: number; dw: number; db: number }, accumulate: boolean,
): void {
  const k = runtime.kernels;
  const flag = accumulate ? 1 : 0;
  if (targets.db) k.linearDb(dy, targets.db, s.batch, s.outFeatures, flag);
  if (targets.dw) k.linearDw(dy, x, targets.dw, s.batch, s.inFeatures, s.outFeatures, flag);
  if (targets.dx) k.linearDx(dy, w, targets.dx, s.batch, s.inFeatures, s.outFeatures);
}
