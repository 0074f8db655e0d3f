// The wasm-conv2d/onnx subpath: this library's layers to ONNX model bytes (exportOnnx) and back (importOnnx).

export { exportOnnx, type ExportOnnxOptions, type OnnxExportContext, type OnnxExportable, type OnnxValue, type OnnxAttribute } from "./export.js";
export { importOnnx } from "./import.js";
