// The typed view of what the wasm module exports (assembly/index.ts): one entry per kernel.

/** Addresses and sizes are plain numbers (wasm32 byte addresses); booleans are passed as 0 or 1. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  usesRelaxedSimd(): number;
  /** Writes two f64 at plan (256 bytes): the prepared block's bytes and each thread's work bytes. */
  conv2dPlan(geometry: number, direction: number, plan: number): void;
  /**
   * Fills the prepared block (packing, path, task counts); returns the number of phases. reusable (0 or
   * 1): the block is as the last prepare and its tasks left it, so a packing of the same weights may stay.
   */
  conv2dPrepare(direction: number, geometry: number, w: number, bias: number, prepared: number, reusable: number): number;
  conv2dTasks(prepared: number, phase: number): number;
  /** Runs tasks [t0, t1) of a phase with one thread's work block. */
  conv2dRun(
    direction: number, phase: number, prepared: number, a: number, b: number, out: number,
    accumulate: number, work: number, t0: number, t1: number,
  ): void;
  reluForward(x: number, y: number, count: number): void;
  reluBackward(x: number, dy: number, dx: number, count: number): void;
  maxPool2x2Forward(x: number, y: number, planes: number, height: number, width: number): void;
  maxPool2x2Backward(x: number, dy: number, dx: number, planes: number, height: number, width: number): void;
  linearForward(x: number, w: number, bias: number, y: number, batch: number, inFeatures: number, outFeatures: number): void;
  linearBackwardInput(dy: number, w: number, dx: number, batch: number, inFeatures: number, outFeatures: number): void;
  linearBackwardWeight(dy: number, x: number, dw: number, batch: number, inFeatures: number, outFeatures: number, accumulate: number): void;
  linearBackwardBias(dy: number, db: number, batch: number, outFeatures: number, accumulate: number): void;
  /** labels: i32 class indices; grad 0 computes the loss alone. Returns the mean loss. */
  softmaxCrossEntropy(logits: number, labels: number, grad: number, batch: number, classes: number): number;
  countCorrect(logits: number, labels: number, batch: number, classes: number): number;
  sgdStep(param: number, grad: number, velocity: number, count: number, lr: number, momentum: number, weightDecay: number): void;
  adamStep(
    param: number, grad: number, m: number, v: number, count: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, stepSize: number, correction2: number,
  ): void;
  copyFloats(src: number, dst: number, count: number): void;
}

/** conv2dPlan's directions. */
export const Direction = { FORWARD: 0, INPUT: 1, FILTER: 2, BIAS: 3 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** init() refuses a module missing any of these: it is not a wasm-conv2d build (or an older one). */
export const REQUIRED_EXPORTS: readonly (keyof KernelExports)[] = [
  "memory", "heapBase", "usesRelaxedSimd", "conv2dPlan", "conv2dPrepare", "conv2dTasks", "conv2dRun",
  "reluForward", "reluBackward", "maxPool2x2Forward", "maxPool2x2Backward",
  "linearForward", "linearBackwardInput", "linearBackwardWeight", "linearBackwardBias",
  "softmaxCrossEntropy", "countCorrect", "sgdStep", "adamStep", "copyFloats",
];
