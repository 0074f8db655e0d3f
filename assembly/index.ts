// The module's exports: conv2d kernels and what the API needs to lay out memory around them.

export { conv2dForward } from "./conv2d/forward";
export { conv2dBackwardInput } from "./conv2d/backward_input";
export { conv2dBackwardFilter } from "./conv2d/backward_filter";
export { conv2dBackwardBias } from "./conv2d/bias";
export { conv2dScratchBytes } from "./conv2d/scratch";

// Where the module's own static data ends: the API's allocator owns everything above it.
export function heapBase(): usize {
  return __heap_base;
}

// 1 in the relaxed-SIMD (fused multiply-add) build, 0 in the fixed one; the API reports it.
export function usesRelaxedSimd(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}
