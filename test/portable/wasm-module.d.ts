// workerd and bundlers hand a `.wasm` import over as a compiled WebAssembly.Module, and workerd a Data module (the model fixtures) as an ArrayBuffer.

declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

declare module "*.onnx" {
  const bytes: ArrayBuffer;
  export default bytes;
}

declare module "*.safetensors" {
  const bytes: ArrayBuffer;
  export default bytes;
}
