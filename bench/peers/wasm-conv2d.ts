// Peer adapter for this library: a fresh runtime per layer (so its peak memory is the layer's), one build per peer.

import { init, tensor, conv2d, conv2dBackward, scope, type Runtime } from "../../js/index.js";
import { layerOptions, inputShape, weightShape, type BenchLayer } from "../layers.js";
import type { LayerData, Peer, PreparedLayer } from "./peer.js";

export function wasmConv2dPeer(build: "fixed" | "relaxed", version: string): Peer {
  return {
    name: `wasm-conv2d (${build})`,
    version,
    note: `this library, ${build === "relaxed" ? "relaxed-SIMD build (FMA)" : "fixed SIMD build (mul + add)"}; output allocation and dispose are timed`,
    async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
      const runtime: Runtime = await init({ simd: build });
      const options = layerOptions(layer);
      const x = tensor(data.x, inputShape(layer), runtime);
      const w = tensor(data.w, weightShape(layer), runtime);
      const b = tensor(data.b, [layer.F], runtime);
      const dy = tensor(data.dy, [layer.N, layer.F, data.outHeight, data.outWidth], runtime);
      return {
        run: {
          // Each scope returns nothing, so everything made inside is disposed (a returned tensor would be kept).
          forward: () => scope(() => { conv2d(x, w, b, options); }),
          dx: () => scope(() => { conv2dBackward(dy, x, w, options, { dw: false, db: false }); }),
          dw: () => scope(() => { conv2dBackward(dy, x, w, options, { dx: false, db: false }); }),
          db: () => scope(() => { conv2dBackward(dy, x, w, options, { dx: false, dw: false }); }),
          step: () => scope(() => {
            conv2d(x, w, b, options);
            conv2dBackward(dy, x, w, options);
          }),
        },
        unsupported: {},
        results: async () => scope(() => {
          const grads = conv2dBackward(dy, x, w, options);
          return { forward: conv2d(x, w, b, options).toFloat32Array(), dx: grads.dx!.toFloat32Array(), dw: grads.dw!.toFloat32Array() };
        }),
        memory: () => {
          const usage = runtime.memoryUsage();
          return { wasmMemoryBytes: usage.wasmMemoryBytes, scratchBytes: usage.scratchBytes };
        },
        dispose: () => {
          for (const t of [x, w, b, dy]) t.dispose();
        },
      };
    },
  };
}
