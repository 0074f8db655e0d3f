// The wasm-conv2d/onnx subpath: this library's layers to ONNX model bytes (exportOnnx) and back (importOnnx); docs/api.md lists the same.

export { exportOnnx } from "./export.js";
export type { ExportOnnxOptions, OnnxExportContext, OnnxExportable, OnnxValue, OnnxAttribute } from "./export.js";
export { importOnnx, OnnxModel } from "./import.js";
export type { ImportOnnxOptions } from "./import.js";
