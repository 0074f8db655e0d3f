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
export type { Conv2dLayerOptions, Parameter } from "./conv2d-layer.js";
export { gradcheckConv2d, relError, GRADCHECK_TOLERANCE } from "./gradcheck.js";
export type { GradcheckConfig, GradcheckResult } from "./gradcheck.js";
export { ConvError, ErrorCode } from "./errors.js";
export type { ConvErrorDetails } from "./errors.js";
export type { MemoryUsage } from "./memory.js";
