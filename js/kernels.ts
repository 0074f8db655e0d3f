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
}

/** init() refuses a module missing any of these: it is not a wasm-conv2d build (or an older one). */
export const REQUIRED_EXPORTS: readonly (keyof KernelExports)[] = [
  "memory", "heapBase", "usesRelaxedSimd", "conv2dScratchBytes",
  "conv2dForward", "conv2dBackwardInput", "conv2dBackwardFilter", "conv2dBackwardBias",
];
