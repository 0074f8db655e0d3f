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

// Training layers: activation, pooling, dense, loss, optimisers, reshape.
export { reluForward, reluBackward } from "./activation/relu";
export { maxPool2x2Forward, maxPool2x2Backward } from "./pool/max_pool_2x2";
export { linearForward, linearBackwardInput, linearBackwardWeight, linearBackwardBias } from "./dense/linear";
export { softmaxCrossEntropy } from "./loss/softmax_cross_entropy";
export { countCorrect } from "./loss/count_correct";
export { sgdStep } from "./optim/sgd";
export { adamStep } from "./optim/adam";
export { copyFloats } from "./tensor/copy";
