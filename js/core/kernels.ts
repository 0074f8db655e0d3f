// The typed view of what the wasm module exports (assembly/index.ts), and the check that a module is one this API can drive.

import { ErrorCode, fail } from "./errors.js";

/** Addresses and sizes are plain numbers (wasm32 byte addresses); booleans are passed as 0 or 1. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  usesRelaxedSimd(): number;
  /** Writes two f64 at plan (PLAN_BYTES): the prepared block's bytes and each thread's work bytes. */
  conv2dPlan(geometry: number, direction: number, plan: number): void;
  /**
   * Fills the prepared block (the path, packing, task counts); returns the number of phases. reusable (0
   * or 1): the block is as the last prepare and its tasks left it, so a packing of the same weights may stay.
   */
  conv2dPrepare(direction: number, geometry: number, w: number, bias: number, prepared: number, reusable: number): number;
  conv2dTasks(prepared: number, phase: number): number;
  /** The path conv2dPrepare chose (assembly/conv2d/plan.ts numbers them). */
  conv2dPath(prepared: number): number;
  /** Runs tasks [t0, t1) of a phase with one thread's work block. */
  conv2dRun(phase: number, prepared: number, a: number, b: number, out: number, accumulate: number, work: number, t0: number, t1: number): void;
  /** The micro-kernel form later conv2dPrepare calls write into their blocks (a BroadcastForm number). */
  setBroadcastForm(form: number): void;
  reluForward(x: number, y: number, count: number): void;
  reluBackward(x: number, dy: number, dx: number, count: number): void;
  sigmoidForward(x: number, y: number, count: number): void;
  sigmoidBackward(x: number, dy: number, dx: number, count: number): void;
  tanhForward(x: number, y: number, count: number): void;
  tanhBackward(x: number, dy: number, dx: number, count: number): void;
  leakyReluForward(x: number, y: number, count: number, slope: number): void;
  leakyReluBackward(x: number, dy: number, dx: number, count: number, slope: number): void;
  /** mask[i] = 1/(1 − p) or 0 from a hash of (seed, i); y = x·mask. */
  dropoutForward(x: number, y: number, mask: number, count: number, p: number, seed: number): void;
  dropoutBackward(mask: number, dy: number, dx: number, count: number): void;
  /** The mean of (pred − target)² over count elements; grad (0: none) gets 2(pred − target)/count. */
  mseLoss(pred: number, target: number, grad: number, count: number): number;
  maxPool2x2Forward(x: number, y: number, planes: number, height: number, width: number): void;
  maxPool2x2Backward(x: number, dy: number, dx: number, planes: number, height: number, width: number): void;
  /** maxPool2x2Forward of relu(x), and its backward (dx also 0 where x ≤ 0): a ReLU and the pool in one pass. */
  reluMaxPool2x2Forward(x: number, y: number, planes: number, height: number, width: number): void;
  reluMaxPool2x2Backward(x: number, dy: number, dx: number, planes: number, height: number, width: number): void;
  linearForward(x: number, w: number, bias: number, y: number, batch: number, inFeatures: number, outFeatures: number): void;
  linearDx(dy: number, w: number, dx: number, batch: number, inFeatures: number, outFeatures: number): void;
  linearDw(dy: number, x: number, dw: number, batch: number, inFeatures: number, outFeatures: number, accumulate: number): void;
  linearDb(dy: number, db: number, batch: number, outFeatures: number, accumulate: number): void;
  /** labels: i32 class indices; grad 0 computes the loss alone. Returns the mean loss. */
  softmaxCrossEntropy(logits: number, labels: number, grad: number, batch: number, classes: number): number;
  countCorrect(logits: number, labels: number, batch: number, classes: number): number;
  sgdStep(param: number, grad: number, velocity: number, count: number, lr: number, momentum: number, weightDecay: number): void;
  adamStep(
    param: number, grad: number, m: number, v: number, count: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, stepSize: number, correction2: number,
  ): void;
  copyTensor(src: number, dst: number, count: number): void;
  /** Per channel of x [N, C, plane]: mean and the biased variance. */
  batchNormStatistics(x: number, mean: number, variance: number, N: number, C: number, plane: number): void;
  /** y = γ(x − μ)/√(σ² + ε) + β per channel (γ, β 0: none); writes invStd = 1/√(σ² + ε). */
  batchNormForward(x: number, y: number, mean: number, variance: number, gamma: number, beta: number, invStd: number, N: number, C: number, plane: number, eps: number): void;
  batchNormBackward(
    x: number, dy: number, dx: number, mean: number, invStd: number, gamma: number, dGamma: number, dBeta: number,
    N: number, C: number, plane: number, batchStatistics: boolean | number, accumulate: boolean | number,
  ): void;
  batchNormUpdateRunning(runningMean: number, runningVar: number, mean: number, variance: number, C: number, momentum: number, count: number): void;
  maxPool2dForward(x: number, y: number, planes: number, H: number, W: number, outH: number, outW: number, KH: number, KW: number,
    sH: number, sW: number, pH: number, pW: number, dH: number, dW: number): void;
  maxPool2dBackward(x: number, dy: number, dx: number, planes: number, H: number, W: number, outH: number, outW: number, KH: number, KW: number,
    sH: number, sW: number, pH: number, pW: number, dH: number, dW: number): void;
  avgPool2dForward(x: number, y: number, planes: number, H: number, W: number, outH: number, outW: number, KH: number, KW: number,
    sH: number, sW: number, pH: number, pW: number, includePad: boolean | number): void;
  avgPool2dBackward(dy: number, dx: number, planes: number, H: number, W: number, outH: number, outW: number, KH: number, KW: number,
    sH: number, sW: number, pH: number, pW: number, includePad: boolean | number): void;
  adaptiveAvgPool2dForward(x: number, y: number, planes: number, H: number, W: number, outH: number, outW: number): void;
  adaptiveAvgPool2dBackward(dy: number, dx: number, planes: number, H: number, W: number, outH: number, outW: number): void;
  /** out = a + b elementwise (out may be a or b). */
  addTensors(a: number, b: number, out: number, count: number): void;
  /** y[n, c, p] += bias[c] over batch × channels planes of `plane` floats. */
  addChannelBias(y: number, bias: number, batch: number, channels: number, plane: number): void;
  /** Each of `planes` planes: dst's top-left window copied from src's, the rest of dst zero. */
  copyPlaneWindow(src: number, srcHeight: number, srcWidth: number, dst: number, dstHeight: number, dstWidth: number, planes: number): void;
  /** dst[b, c, r] = src[b, r, c] for batch row-major rows × cols matrices (no overlap). */
  transposeBatched(src: number, dst: number, batch: number, rows: number, cols: number): void;
  // The contract (assembly/contract.ts): constants the module exports for the API to read or check.
  readonly DIRECTION_FORWARD: WebAssembly.Global;
  readonly DIRECTION_DX: WebAssembly.Global;
  readonly DIRECTION_DW: WebAssembly.Global;
  readonly DIRECTION_DB: WebAssembly.Global;
  readonly PLAN_BYTES: WebAssembly.Global;
  readonly GEOMETRY_BYTES: WebAssembly.Global;
  readonly BROADCAST_LOAD: WebAssembly.Global;
  readonly BROADCAST_SHUFFLE: WebAssembly.Global;
}

/** The four directions of a convolution, as the kernels number them (checked against the module at init()). */
export const Direction = { FORWARD: 0, DX: 1, DW: 2, DB: 3 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** The micro-kernel's broadcast forms, as the kernels number them (checked against the module at init()). */
export const BroadcastForm = { load: 0, shuffle: 1 } as const;
export type BroadcastName = keyof typeof BroadcastForm;

/**
 * The kernel interface's version, as assembly/contract.ts's ABI_VERSION: bumped whenever an export
 * is added, removed or changes its arguments (test/core/init.test.ts checks that the module exports
 * everything KernelExports names, so a forgotten bump fails there).
 */
const ABI_VERSION = 6;

/**
 * ERR_INIT unless the module agrees with this API on the contract: its kernels' version, the
 * direction and broadcast-form numbers and the geometry block's size (geometryBytes: what the API writes).
 */
export function checkKernelExports(exports: KernelExports, geometryBytes: number): void {
  const refuse = (received: string) => fail(ErrorCode.INIT, "init", "options.wasm", "a wasm-conv2d module of this version", received);
  if (!(exports.memory instanceof WebAssembly.Memory)) refuse("a module without its memory");
  const expected: Record<string, number> = { ABI_VERSION, GEOMETRY_BYTES: geometryBytes };
  for (const [direction, value] of Object.entries(Direction)) expected[`DIRECTION_${direction}`] = value;
  for (const [form, value] of Object.entries(BroadcastForm)) expected[`BROADCAST_${form.toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(expected)) {
    const global = (exports as unknown as Record<string, WebAssembly.Global | undefined>)[name];
    if (global?.value !== value) refuse(`a module whose ${name} is ${global?.value} (this API's is ${value})`);
  }
}
