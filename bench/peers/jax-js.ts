// Peer adapter for jax-js (@jax-js/jax) on its wasm backend: lax.convGeneralDilated under jit, dx and dw through vjp, NCHW.

import { init, defaultDevice, numpy as np, lax, jit, vjp, type Array as JaxArray } from "@jax-js/jax";
import { createRequire } from "node:module";
import type { BenchLayer } from "../lib/layers.js";
import type { Direction, LayerData, Peer, PreparedLayer } from "./peer.js";

const require = createRequire(import.meta.url);
// Its package.json exports only ".": read the version beside the resolved entry point.
const version = (require(require.resolve("@jax-js/jax").replace(/dist\/index\.cjs$/, "package.json")) as { version: string }).version;

/**
 * jax-js's ownership rule: every call takes one reference of each Array argument. The layer's arrays
 * are kept, so every call passes `.ref`, and every output is disposed once it is ready; dispose()
 * checks that each kept array is back to its one reference (nothing kept a reference it did not give
 * back) before it frees them.
 */
export const jaxJsPeer: Peer = {
  name: "jax-js-wasm",
  version,
  note: "@jax-js/jax on its wasm backend (kernels it generates itself; one thread: Node has no global Worker, so no worker pool), NCHW as ours; "
    + "forward, dx, dw, db and the step each one jit-compiled function (dx, dw through vjp), timed until its outputs are ready (blockUntilReady), then disposed",
  async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error(`jax-js has no wasm backend here (it has ${devices.join(", ")})`);
    defaultDevice("wasm");
    // With a global Worker and SharedArrayBuffer its wasm backend starts a worker pool: not one thread.
    if (typeof (globalThis as { Worker?: unknown }).Worker !== "undefined") throw new Error("a global Worker exists: jax-js would run on a worker pool");
    const { N, C, F, K, stride, pad, dilation, groups, size } = layer;
    const x = np.array(data.x).reshape([N, C, size, size]);
    const w = np.array(data.w).reshape([F, C / groups, K, K]);
    const b = np.array(data.b);
    const dy = np.array(data.dy).reshape([N, F, data.outHeight, data.outWidth]);
    if (x.device !== "wasm") throw new Error(`jax-js put the data on ${x.device}, not wasm`);

    const conv = (xs: JaxArray, ws: JaxArray): JaxArray =>
      lax.convGeneralDilated(xs, ws, [stride, stride], [[pad, pad], [pad, pad]], { rhsDilation: [dilation, dilation], featureGroupCount: groups });
    const withBias = (xs: JaxArray, ws: JaxArray, bs: JaxArray): JaxArray => conv(xs, ws).add(bs.reshape([1, F, 1, 1]));
    // Each gradient is what a jax user writes: vjp of the layer with respect to what they need, the
    // primal output dropped; db is the sum that vjp of the bias add would give.
    const compiled = {
      forward: jit(withBias),
      dx: jit((xs: JaxArray, ws: JaxArray, g: JaxArray) => {
        const [y, back] = vjp((xv: JaxArray) => conv(xv, ws), [xs]);
        y.dispose();
        const [gx] = back(g);
        back.dispose();
        return gx;
      }),
      dw: jit((xs: JaxArray, ws: JaxArray, g: JaxArray) => {
        const [y, back] = vjp((wv: JaxArray) => conv(xs, wv), [ws]);
        y.dispose();
        const [gw] = back(g);
        back.dispose();
        return gw;
      }),
      db: jit((g: JaxArray) => np.sum(g, [0, 2, 3])),
      step: jit((xs: JaxArray, ws: JaxArray, bs: JaxArray, g: JaxArray) => {
        const [y, back] = vjp(withBias, [xs, ws, bs]);
        const [gx, gw, gb] = back(g);
        back.dispose();
        return [y, gx, gw, gb];
      }),
    };
    const call: Record<Direction, () => JaxArray[]> = {
      forward: () => [compiled.forward(x.ref, w.ref, b.ref)],
      dx: () => [compiled.dx(x.ref, w.ref, dy.ref)],
      dw: () => [compiled.dw(x.ref, w.ref, dy.ref)],
      db: () => [compiled.db(dy.ref)],
      step: () => compiled.step(x.ref, w.ref, b.ref, dy.ref),
    };
    const run: Partial<Record<Direction, () => Promise<void>>> = {};
    const unsupported: Partial<Record<Direction, string>> = {};
    for (const direction of Object.keys(call) as Direction[]) {
      const timed = async () => {
        const outputs = call[direction]();
        for (const o of outputs) await o.blockUntilReady();
        for (const o of outputs) o.dispose();
      };
      // Each runs (and compiles) once here: what throws is recorded as unsupported, with jax-js's message.
      try {
        await timed();
        run[direction] = timed;
      } catch (error) {
        unsupported[direction] = String((error as Error).message ?? error).split("\n")[0]!.slice(0, 120);
      }
    }
    const read = async (direction: "forward" | "dx" | "dw") => (run[direction] ? (await call[direction]()[0]!.data()) as Float32Array : undefined);
    return {
      run,
      unsupported,
      results: async () => {
        const out: Partial<Record<"forward" | "dx" | "dw", Float32Array>> = {};
        for (const d of ["forward", "dx", "dw"] as const) {
          const values = await read(d);
          if (values) out[d] = values;
        }
        return out;
      },
      dispose: () => {
        const kept = { x, w, b, dy };
        const leaked = Object.entries(kept).filter(([, a]) => a.refCount !== 1).map(([name, a]) => `${name} (${a.refCount} references)`);
        for (const a of Object.values(kept)) a.dispose();
        for (const f of Object.values(compiled)) f.dispose();
        if (leaked.length) throw new Error(`jax-js peer: ${leaked.join(", ")} after the timed calls, not 1`);
      },
    };
  },
};
