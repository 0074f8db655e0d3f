// Peer adapter: ONNX Runtime Web (wasm, one thread, SIMD), forward only, on a one-node Conv model built here.

import * as ort from "onnxruntime-web";
import onnxProto from "onnx-proto";
import { layerOptions, type BenchLayer } from "../lib/layers.js";
import type { LayerData, Peer, PreparedLayer } from "./peer.js";

const { onnx } = onnxProto;
ort.env.wasm.numThreads = 1;
const version = ort.env.versions.web ?? "unknown";

/** ModelProto bytes for Y = Conv(X, W, B) with the layer's attributes, opset 13. */
function convModel(layer: BenchLayer, data: LayerData): Uint8Array {
  const o = layerOptions(layer);
  const { N, C, F, K, size } = layer;
  const Int = onnx.AttributeProto.AttributeType.INTS;
  const float = onnx.TensorProto.DataType.FLOAT;
  const valueInfo = (name: string, dims: number[]) => ({
    name, type: { tensorType: { elemType: float, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "conv",
      node: [{
        opType: "Conv", input: ["X", "W", "B"], output: ["Y"],
        attribute: [
          { name: "kernel_shape", type: Int, ints: [K, K] },
          { name: "strides", type: Int, ints: [o.stride as number, o.stride as number] },
          { name: "pads", type: Int, ints: [o.pad as number, o.pad as number, o.pad as number, o.pad as number] },
          { name: "dilations", type: Int, ints: [o.dilation as number, o.dilation as number] },
          { name: "group", type: onnx.AttributeProto.AttributeType.INT, i: o.groups! },
        ],
      }],
      initializer: [
        { name: "W", dataType: float, dims: [F, C / o.groups!, K, K], rawData: bytes(data.w) },
        { name: "B", dataType: float, dims: [F], rawData: bytes(data.b) },
      ],
      input: [valueInfo("X", [N, C, size, size])],
      output: [valueInfo("Y", [N, F, data.outHeight, data.outWidth])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export const onnxRuntimeWebPeer: Peer = {
  name: "onnxruntime-web",
  version,
  note: "onnxruntime-web wasm EP, one thread, SIMD, NCHW; session.run's input copy is timed (its API has no other way)",
  async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
    const session = await ort.InferenceSession.create(convModel(layer, data), { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    const x = new ort.Tensor("float32", data.x, [layer.N, layer.C, layer.size, layer.size]);
    const forward = async () => (await session.run({ X: x })).Y!;
    return {
      run: { forward: async () => { (await forward()).dispose(); } },
      unsupported: { dx: "inference only (training was removed from ORT Web)", dw: "inference only", db: "inference only", step: "inference only" },
      results: async () => {
        const y = await forward();
        const out = (y.data as Float32Array).slice();
        y.dispose();
        return { forward: out };
      },
      dispose: () => session.release(),
    };
  },
};
