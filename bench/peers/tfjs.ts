// Peer adapters for TensorFlow.js: the wasm backend (XNNPACK, SIMD) and the cpu backend, NHWC, via its kernels.

import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { layerFlops, type BenchLayer } from "../lib/layers.js";
import type { Direction, LayerData, Peer, PreparedLayer } from "./peer.js";

const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm")) + "/";
setWasmPaths(wasmDir);

// NCHW → NHWC and FCHW → HWCF (or HWC1 for depthwise): done once in setup, outside every timed region.
function toNhwc(data: Float32Array, [n, c, h, w]: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [n!, c!, h!, w!]), [0, 2, 3, 1]));
}

function fromNhwc(t: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.transpose(t, [0, 3, 1, 2])).dataSync() as Float32Array;
}

/** A tfjs backend as a peer; "wasm" is XNNPACK with SIMD (one thread in Node), "cpu" plain JS kernels. */
export function tfjsPeer(backend: "wasm" | "cpu"): Peer {
  return {
    name: `tfjs-${backend}`,
    version: tf.version.tfjs,
    note: backend === "wasm"
      ? "@tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread), NHWC; transposes outside the timed region"
      : "@tensorflow/tfjs-backend-cpu, NHWC; transposes outside the timed region",
    async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      await tf.ready();
      const depthwise = layer.groups === layer.C && layer.groups === layer.F && layer.groups > 1;
      const { N, C, F, K, stride, pad, dilation } = layer;
      const x = toNhwc(data.x, [N, C, layer.size, layer.size]);
      const dy = toNhwc(data.dy, [N, F, data.outHeight, data.outWidth]);
      // FCHW → HWCF; depthwise FCHW with C/groups = 1 → HWC1 (channel multiplier 1).
      const w = tf.tidy(() => depthwise
        ? tf.transpose(tf.tensor4d(data.w, [F, 1, K, K]), [2, 3, 0, 1])
        : tf.transpose(tf.tensor4d(data.w, [F, C, K, K]), [2, 3, 1, 0])) as tf.Tensor4D;
      const b = tf.tensor1d(data.b);
      const explicit: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
      const run: Partial<Record<Direction, () => unknown>> = {};
      const unsupported: Partial<Record<Direction, string>> = {};
      const forward = (): tf.Tensor => depthwise
        ? tf.fused.depthwiseConv2d({ x, filter: w, bias: b, strides: stride, pad, dataFormat: "NHWC", dilations: dilation })
        : tf.fused.conv2d({ x, filter: w, bias: b, strides: stride, pad: explicit, dataFormat: "NHWC", dilations: dilation });
      const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) =>
        tf.engine().runKernel(name, inputs as never, attrs as never) as tf.Tensor;
      const dxKernel = (): tf.Tensor => depthwise
        ? kernel("DepthwiseConv2dNativeBackpropInput", { dy, filter: w }, { strides: stride, pad, dilations: dilation, inputShape: x.shape })
        : kernel("Conv2DBackpropInput", { dy, filter: w }, { strides: stride, pad: explicit, dataFormat: "NHWC", inputShape: x.shape });
      const dwKernel = (): tf.Tensor => depthwise
        ? kernel("DepthwiseConv2dNativeBackpropFilter", { x, dy }, { strides: stride, pad, dilations: dilation, filterShape: w.shape })
        : kernel("Conv2DBackpropFilter", { x, dy }, { strides: stride, pad: explicit, dataFormat: "NHWC", filterShape: w.shape });
      const dbKernel = (): tf.Tensor => tf.sum(dy, [0, 1, 2]);
      // Each candidate runs once here: what throws is recorded as unsupported, with tfjs's own message.
      const candidates: [Direction, () => tf.Tensor][] = [["forward", forward], ["db", dbKernel]];
      if (dilation !== 1) {
        // Conv2DBackpropInput/Filter take no dilations: tfjs's conv2d gradient rejects dilation > 1.
        unsupported.dx = "tfjs's conv2d gradient kernels take no dilation";
        unsupported.dw = unsupported.dx;
      } else {
        candidates.push(["dx", dxKernel], ["dw", dwKernel]);
      }
      for (const [direction, fn] of candidates) {
        try {
          fn().dispose();
          run[direction] = () => fn().dispose();
        } catch (error) {
          unsupported[direction] = String((error as Error).message ?? error).split("\n")[0]!.slice(0, 120);
        }
      }
      if (run.forward && run.dx && run.dw && run.db) {
        run.step = () => {
          forward().dispose();
          dxKernel().dispose();
          dwKernel().dispose();
          dbKernel().dispose();
        };
      } else {
        unsupported.step = `needs ${["forward", "dx", "dw", "db"].filter((d) => !run[d as Direction]).join(", ")}`;
      }
      return {
        run,
        unsupported,
        results: async () => {
          const out: Partial<Record<"forward" | "dx" | "dw", Float32Array>> = {};
          if (run.forward) out.forward = tf.tidy(() => fromNhwc(forward()));
          if (run.dx) out.dx = tf.tidy(() => fromNhwc(dxKernel()));
          // tfjs-cpu's filter gradient takes tens of seconds on the large layers: agreement is
          // checked on it only where it costs under a second or so (it is still timed everywhere).
          if (run.dw && (backend === "wasm" || layerFlops(layer) < 50e6)) {
            out.dw = tf.tidy(() => (depthwise
              ? tf.transpose(dwKernel(), [2, 3, 0, 1])
              : tf.transpose(dwKernel(), [3, 2, 0, 1])).dataSync() as Float32Array);
          }
          return out;
        },
        dispose: () => {
          for (const t of [x, dy, w, b]) t.dispose();
        },
      };
    },
  };
}
