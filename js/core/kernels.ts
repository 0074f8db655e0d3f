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
  reluForward(x: number, y: number, count: number): void;
  reluBackward(x: number, dy: number, dx: number, count: number): void;
  maxPool2x2Forward(x: number, y: number, planes: number, height: number, width: number): void;
  maxPool2x2Backward(x: number, dy: number, dx: number, planes: number, height: number, width: number): void;
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
  /** y[n, c, p] += bias[c] over batch × channels planes of `plane` floats. */
  addChannelBias(y: number, bias: number, batch: number, channels: number, plane: number): void;
  /** Each of `planes` planes: dst's top-left window copied from src's, the rest of dst zero. */
  copyPlaneWindow(src: number, srcHeight: number, srcWidth: number, dst: number, dstHeight: number, dstWidth: number, planes: number): void;
  // The contract (assembly/contract.ts): constants the module exports for the API to read or check.
  readonly DIRECTION_FORWARD: WebAssembly.Global;
  readonly DIRECTION_DX: WebAssembly.Global;
  readonly DIRECTION_DW: WebAssembly.Global;
  readonly DIRECTION_DB: WebAssembly.Global;
  readonly PLAN_BYTES: WebAssembly.Global;
  readonly GEOMETRY_BYTES: WebAssembly.Global;
}

/** The four directions of a convolution, as the kernels number them (checked against the module at init()). */
export const Direction = { FORWARD: 0, DX: 1, DW: 2, DB: 3 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** Every export the API uses, functions and contract globals alike. */
const REQUIRED_EXPORTS = ("memory heapBase usesRelaxedSimd conv2dPlan conv2dPrepare conv2dTasks conv2dPath conv2dRun reluForward " +
  "reluBackward maxPool2x2Forward maxPool2x2Backward linearForward linearDx linearDw linearDb softmaxCrossEntropy countCorrect " +
  "sgdStep adamStep copyTensor addChannelBias copyPlaneWindow PLAN_BYTES GEOMETRY_BYTES").split(" ");

/**
 * ERR_INIT unless the module exports every kernel and agrees with this API on the contract: the
 * direction numbers and the geometry block's size (geometryBytes: what the API writes).
 */
export function checkKernelExports(exports: KernelExports, geometryBytes: number): void {
  const refuse = (received: string) => fail(ErrorCode.INIT, "init", "options.wasm", "a wasm-conv2d module of this version", received);
  for (const name of REQUIRED_EXPORTS) {
    if (!(name in exports)) refuse(`a module that does not export "${name}"`);
  }
  const expected: Record<string, number> = { GEOMETRY_BYTES: geometryBytes };
  for (const [direction, value] of Object.entries(Direction)) expected[`DIRECTION_${direction}`] = value;
  for (const [name, value] of Object.entries(expected)) {
    const global = (exports as unknown as Record<string, WebAssembly.Global | undefined>)[name];
    if (global?.value !== value) refuse(`a module whose ${name} is ${global?.value} (this API's is ${value})`);
  }
}
