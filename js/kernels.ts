// The typed view of what the wasm module exports (assembly/index.ts): one entry per kernel.

/** Addresses and sizes are plain numbers (wasm32 byte addresses); booleans are passed as 0 or 1. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  usesRelaxedSimd(): number;
  /** f64, so a geometry too large for wasm32 cannot wrap around to a small size. */
  conv2dScratchBytes(geometry: number): number;
  conv2dForward(geometry: number, x: number, w: number, bias: number, out: number, scratch: number): void;
  conv2dBackwardInput(geometry: number, dy: number, w: number, dx: number, scratch: number): void;
  conv2dBackwardFilter(geometry: number, dy: number, x: number, dw: number, scratch: number, accumulate: number): void;
  conv2dBackwardBias(geometry: number, dy: number, db: number, accumulate: number): void;
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

/** init() refuses a module missing any of these: it is not a wasm-conv2d build (or an older one). */
export const REQUIRED_EXPORTS: readonly (keyof KernelExports)[] = [
  "memory", "heapBase", "usesRelaxedSimd", "conv2dScratchBytes",
  "conv2dForward", "conv2dBackwardInput", "conv2dBackwardFilter", "conv2dBackwardBias",
  "reluForward", "reluBackward", "maxPool2x2Forward", "maxPool2x2Backward",
  "linearForward", "linearBackwardInput", "linearBackwardWeight", "linearBackwardBias",
  "softmaxCrossEntropy", "countCorrect", "sgdStep", "adamStep", "copyFloats",
];
