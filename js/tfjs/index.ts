// wasm-conv2d/tfjs: this library's convolution kernels (forward and backward) for TensorFlow.js's wasm and cpu backends.

export { registerTfjsKernels } from "./register.js";
export type { RegisterTfjsKernelsOptions, TfjsRegistration, TfjsBackendName, TfjsNamespace, TfjsKernelName } from "./register.js";
