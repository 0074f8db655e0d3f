// wasm-conv2d's public entry: re-exports only.

export { init, memoryUsage, hasRelaxedSimd, Runtime } from "./runtime.js";
export type { InitOptions, WasmSource } from "./runtime.js";
export { Tensor, tensor, zeros, scope, keep } from "./tensor.js";
export { conv2d, conv2dBackward } from "./conv2d.js";
export { conv2dAsync, conv2dBackwardAsync } from "./conv2d-async.js";
export type { Conv2dGradients, GradientSelection } from "./conv2d.js";
export { conv2dOutputShape } from "./shape.js";
export type { Conv2dOptions, PadSides } from "./geometry.js";
export { Conv2d } from "./conv2d-layer.js";
export type { Conv2dLayerOptions } from "./conv2d-layer.js";
export { gradcheckConv2d, relError, GRADCHECK_TOLERANCE } from "./gradcheck.js";
export type { GradcheckConfig, GradcheckResult } from "./gradcheck.js";
export { relu, reluBackward, ReLU } from "./relu.js";
export { maxPool2x2, maxPool2x2Backward, maxPool2x2OutputShape, MaxPool2x2 } from "./max-pool.js";
export { reshape, Flatten } from "./flatten.js";
export { linear, linearBackward, Linear } from "./linear.js";
export type { LinearGradients, LinearGradientSelection, LinearLayerOptions } from "./linear.js";
export { softmaxCrossEntropy, countCorrect } from "./loss.js";
export type { Labels, SoftmaxCrossEntropyResult } from "./loss.js";
export { SGD, Adam } from "./optim.js";
export type { SGDOptions, AdamOptions } from "./optim.js";
export { Sequential } from "./sequential.js";
export type { Layer, BackwardOptions, Parameter } from "./layer.js";
export { ConvError, ErrorCode } from "./errors.js";
export type { ConvErrorDetails } from "./errors.js";
export type { MemoryUsage } from "./memory.js";
