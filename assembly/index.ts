// The module's exports: conv2d planned, prepared and run in tasks, and what the API needs to lay out memory.

export { conv2dPlan, conv2dPrepare, conv2dTasks, conv2dRun } from "./conv2d/plan";

// Where the module's own static data ends: the API's allocator owns everything above it.
export function heapBase(): usize {
  return __heap_base;
}

// 1 in the relaxed-SIMD (fused multiply-add) build, 0 in the fixed one; the API reports it.
export function usesRelaxedSimd(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}
