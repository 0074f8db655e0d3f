// The module's exports: conv2d planned, prepared and run in tasks, the training layers' kernels, and the API contract.

export { conv2dPlan, conv2dPrepare, conv2dTasks, conv2dPath, conv2dRun } from "./conv2d/plan";
export {
  ABI_VERSION, DIRECTION_FORWARD, DIRECTION_DX, DIRECTION_DW, DIRECTION_DB, PLAN_BYTES, GEOMETRY_BYTES, BROADCAST_LOAD, BROADCAST_SHUFFLE,
} from "./contract";
export { setBroadcastForm } from "./conv2d/broadcast";

// Where the module's own static data ends: the API's allocator owns everything above it.
export function heapBase(): usize {
  return __heap_base;
}

// 1 in the relaxed-SIMD (fused multiply-add) build, 0 in the fixed one; the API reports it.
export function usesRelaxedSimd(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}

// The layers' other kernels: activation, pooling, dense, loss, optimisers, and tensor moves (reshape, channel bias, plane windows, transposes).
export { reluForward, reluBackward } from "./activation/relu";
export { maxPool2x2Forward, maxPool2x2Backward, reluMaxPool2x2Forward, reluMaxPool2x2Backward } from "./pool/max_pool_2x2";
export { linearForward, linearDx, linearDw, linearDb } from "./dense/linear";
export { softmaxCrossEntropy } from "./loss/softmax_cross_entropy";
export { countCorrect } from "./loss/count_correct";
export { sgdStep } from "./optim/sgd";
export { adamStep } from "./optim/adam";
export { copyTensor } from "./tensor/reshape";
export { addChannelBias } from "./tensor/channel_bias";
export { copyPlaneWindow } from "./tensor/window";
export { transposeBatched } from "./tensor/transpose";
export { sigmoidForward, sigmoidBackward } from "./activation/sigmoid";
export { tanhForward, tanhBackward } from "./activation/tanh";
export { leakyReluForward, leakyReluBackward } from "./activation/leaky_relu";
export { dropoutForward, dropoutBackward } from "./activation/dropout";
export { mseLoss } from "./loss/mse";
export { addTensors } from "./tensor/add";
export { batchNormStatistics, batchNormForward, batchNormBackward, batchNormUpdateRunning } from "./norm/batch_norm";
export {
  maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward, adaptiveAvgPool2dForward, adaptiveAvgPool2dBackward,
} from "./pool/pool2d";
