// wasm-conv2d's public entry: re-exports only, grouped by part (docs/api.md lists the same, and a test checks it does).

// Set-up and memory (js/init.ts, js/core/)
export { init, createRuntime } from "./init.js";
export type { InitOptions } from "./init.js";
export type { WasmSource } from "./core/source.js";
export { Runtime, memoryUsage } from "./core/runtime.js";
export { hasRelaxedSimd } from "./core/features.js";
export type { MemoryUsage } from "./core/memory.js";
export { Tensor, tensor, zeros, scope, keep } from "./core/tensor.js";
export { ConvError, ErrorCode } from "./core/errors.js";
export type { ConvErrorDetails } from "./core/errors.js";
export type { GradientSelection } from "./core/checks.js";

// Convolution (js/conv/)
export { conv2d, conv2dBackward } from "./conv/conv2d.js";
export { conv2dAsync, conv2dBackwardAsync } from "./conv/conv2d-async.js";
export type { Conv2dGradients } from "./conv/calls.js";
export { conv2dOutputShape } from "./conv/geometry.js";
export type { Conv2dOptions, ConvAlgorithm, PadSides } from "./conv/geometry.js";
export { convTranspose2d, convTranspose2dBackward, convTranspose2dAsync, convTranspose2dBackwardAsync } from "./conv/conv-transpose2d.js";
export { convTranspose2dOutputShape } from "./conv/transposed.js";
export type { ConvTranspose2dOptions } from "./conv/transposed.js";
export { gradcheckConv2d, relError, GRADCHECK_TOLERANCE } from "./conv/gradcheck.js";
export type { GradcheckConfig, GradcheckResult } from "./conv/gradcheck.js";

// Layers, losses and optimisers (js/nn/)
export type { Layer, BackwardOptions, Parameter } from "./nn/layer.js";
export type { StateValue, LoadStateDictOptions, LoadStateDictResult } from "./nn/state.js";
export { Conv2d } from "./nn/conv2d-layer.js";
export type { Conv2dLayerOptions } from "./nn/conv2d-layer.js";
export { ConvTranspose2d } from "./nn/conv-transpose2d-layer.js";
export type { ConvTranspose2dLayerOptions } from "./nn/conv-transpose2d-layer.js";
export { linear, linearBackward, Linear } from "./nn/linear.js";
export type { LinearGradients, LinearGradientSelection, LinearLayerOptions } from "./nn/linear.js";
export {
  relu, reluBackward, ReLU, sigmoid, sigmoidBackward, Sigmoid, tanh, tanhBackward, Tanh, leakyRelu, leakyReluBackward, LeakyReLU,
} from "./nn/activations.js";
export { Dropout } from "./nn/dropout.js";
export { BatchNorm2d } from "./nn/batch-norm.js";
export type { BatchNorm2dOptions } from "./nn/batch-norm.js";
export { Residual } from "./nn/residual.js";
export { maxPool2x2, maxPool2x2Backward, maxPool2x2OutputShape, MaxPool2x2 } from "./nn/max-pool.js";
export {
  maxPool2d, maxPool2dBackward, MaxPool2d, avgPool2d, avgPool2dBackward, AvgPool2d, adaptiveAvgPool2d, adaptiveAvgPool2dBackward, AdaptiveAvgPool2d,
} from "./nn/pool.js";
export type { MaxPool2dOptions, AvgPool2dOptions } from "./nn/pool.js";
export { reshape, Flatten } from "./nn/flatten.js";
export { Sequential } from "./nn/sequential.js";
export { softmaxCrossEntropy, mseLoss, countCorrect } from "./nn/loss.js";
export type { Labels, SoftmaxCrossEntropyResult, MseLossResult } from "./nn/loss.js";
export { Optimizer, SGD, Adam } from "./nn/optim.js";
export type { SGDOptions, AdamOptions } from "./nn/optim.js";

// Model files (js/io/)
export { saveSafetensors, loadSafetensors } from "./io/safetensors.js";
export type { SafetensorsEntry, SaveSafetensorsOptions, LoadSafetensorsOptions } from "./io/safetensors.js";
