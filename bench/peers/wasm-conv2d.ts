// Peer adapter for this library: a fresh runtime per layer (so its peak memory is the layer's), one build per peer.

// The built package (dist/), as users run it: its thread pool starts dist/worker.js beside it.
import { init, tensor, conv2d, conv2dBackward, conv2dAsync, conv2dBackwardAsync, scope, type Runtime, type Tensor } from "../../dist/index.js";
import { layerOptions, inputShape, weightShape, type BenchLayer } from "../lib/layers.js";
import type { LayerData, Peer, PreparedLayer } from "./peer.js";

/**
 * This library on one build. algorithm "gemm" forces the GEMM path, for the same-run ratio of the
 * layers "auto" runs through Winograd (on the others it says so instead of timing the default twice).
 */
export function wasmConv2dPeer(build: "fixed" | "relaxed", version: string, threads = 1, api: "sync" | "async" = "sync", algorithm?: "gemm"): Peer {
  if (algorithm) return gemmPeer(build, version);
  if (threads > 1 && api === "async") return asyncPeer(build, version, threads);
  if (threads > 1) {
    let runtime: Runtime | undefined;
    return {
      name: `wasm-conv2d (${build}, ${threads} threads)`,
      version,
      note: `this library's synchronous API on ${threads} threads (the calling thread and ${threads - 1} worker${threads > 2 ? "s" : ""}, shared memory), ${build} build; output allocation and dispose are timed`,
      async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
        runtime ??= await init({ simd: build, threads });
        return syncLayer(runtime, layer, data, false);
      },
      async close() {
        runtime?.terminate();
      },
    };
  }
  return {
    name: `wasm-conv2d (${build})`,
    version,
    note: `this library, ${build === "relaxed" ? "relaxed-SIMD build (FMA)" : "fixed SIMD build (mul + add)"}; output allocation and dispose are timed`,
    async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
      return syncLayer(await init({ simd: build }), layer, data, true);
    },
  };
}

/** The GEMM path forced, on the layers where "auto" takes Winograd (3×3, stride 1, undilated, one group, C and F ≥ 16). */
function gemmPeer(build: "fixed" | "relaxed", version: string): Peer {
  return {
    name: `wasm-conv2d (${build}, gemm)`,
    version,
    note: `this library, ${build} build, algorithm "gemm": the im2col GEMM where "auto" takes Winograd F(2×2, 3×3)`,
    async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
      const winograd = layer.K === 3 && layer.stride === 1 && layer.dilation === 1 && layer.groups === 1 && layer.C >= 16 && layer.F >= 16;
      if (!winograd) throw new Error("no Winograd on this layer: the default run is the GEMM already");
      return syncLayer(await init({ simd: build }), layer, data, false, "gemm");
    },
  };
}

/** A layer on the synchronous API. A runtime of its own (fresh per layer) reports its memory. */
function syncLayer(runtime: Runtime, layer: BenchLayer, data: LayerData, ownRuntime: boolean, algorithm?: "gemm"): PreparedLayer {
  const options = { ...layerOptions(layer), ...(algorithm ? { algorithm } : {}) };
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
    ...(ownRuntime ? {
      memory: () => {
        const usage = runtime.memoryUsage();
        return { wasmMemoryBytes: usage.wasmMemoryBytes, scratchBytes: usage.scratchBytes };
      },
    } : {}),
    dispose: () => {
      for (const t of [x, w, b, dy]) t.dispose();
    },
  };
}

/** The async API on a worker pool (the calling thread free). Dispatch, the calling thread's packing and the awaits are timed. */
function asyncPeer(build: "fixed" | "relaxed", version: string, threads: number): Peer {
  let runtime: Runtime | undefined;
  return {
    name: `wasm-conv2d (${build}, ${threads} threads, async)`,
    version,
    note: `this library's async API on ${threads} worker threads (shared memory), ${build} build; dispatch and packing on the calling thread are timed`,
    async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
      runtime ??= await init({ simd: build, threads });
      const rt = runtime;
      const options = layerOptions(layer);
      const x = tensor(data.x, inputShape(layer), rt);
      const w = tensor(data.w, weightShape(layer), rt);
      const b = tensor(data.b, [layer.F], rt);
      const dy = tensor(data.dy, [layer.N, layer.F, data.outHeight, data.outWidth], rt);
      const free = (ts: (Tensor | null)[]) => ts.forEach((t) => t?.dispose());
      const grads = async (which: { dx?: boolean; dw?: boolean; db?: boolean }) => {
        const g = await conv2dBackwardAsync(dy, x, w, options, which);
        free([g.dx, g.dw, g.db]);
      };
      return {
        run: {
          forward: async () => free([await conv2dAsync(x, w, b, options)]),
          dx: () => grads({ dw: false, db: false }),
          dw: () => grads({ dx: false, db: false }),
          db: () => grads({ dx: false, dw: false }),
          step: async () => {
            free([await conv2dAsync(x, w, b, options)]);
            await grads({});
          },
        },
        unsupported: {},
        results: async () => {
          const y = await conv2dAsync(x, w, b, options);
          const g = await conv2dBackwardAsync(dy, x, w, options);
          const out = { forward: y.toFloat32Array(), dx: g.dx!.toFloat32Array(), dw: g.dw!.toFloat32Array() };
          free([y, g.dx, g.dw, g.db]);
          return out;
        },
        dispose: () => free([x, w, b, dy]),
      };
    },
    async close() {
      runtime?.terminate();
    },
  };
}
