// A packing kept across calls with the same weights: never used once the weights (or bias) change, in place or not.

import { describe, it, expect, beforeAll } from "vitest";
import * as api from "../../dist/index.js";
import type { Runtime, Tensor } from "../../dist/index.js";
import { referenceConv2d, firstMismatch, type ReferenceConfig } from "../reference/conv2d.ts";
import { randomData } from "../helpers/setup.ts";

// Forward (GEMM), dx by the stride-1 full correlation and by the strided scatter, a pointwise layer: the paths
// that pack weights. Every result is held to the float64 reference and, bit for bit, to the same call
// in a runtime made just for it (whose block cannot hold an earlier packing).
const LAYERS = [
  { C: 8, F: 12, H: 10, K: 3, stride: 1, pad: 1 },
  { C: 8, F: 12, H: 11, K: 3, stride: 2, pad: 1 },
  { C: 16, F: 8, H: 9, K: 1, stride: 1, pad: 0 },
  { C: 32, F: 32, H: 16, K: 3, stride: 1, pad: 1 }, // over 2 MFLOP: on 2 threads the workers take part
];

const config = (l: (typeof LAYERS)[number]): ReferenceConfig => ({
  N: 2, C: l.C, H: l.H, W: l.H, F: l.F, KH: l.K, KW: l.K, strideH: l.stride, strideW: l.stride,
  padTop: l.pad, padBottom: l.pad, padLeft: l.pad, padRight: l.pad, dilationH: 1, dilationW: 1, groups: 1,
});

describe.each([1, 2])("reusing a packing, %i thread(s)", (threads) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await api.createRuntime({ simd: "fixed", threads });
    return () => runtime.terminate();
  });

  type Layer = (typeof LAYERS)[number];
  type Data = { x: Float32Array; w: Float32Array; b: Float32Array; dy: Float32Array };
  type Tensors = { x: Tensor; w: Tensor; b: Tensor; dy: Tensor };

  /** One direction of one layer in this runtime, held to the reference and to a runtime made for this call. */
  async function check(direction: "out" | "dx", l: Layer, d: Data, t: Tensors, label: string) {
    const options = { stride: l.stride, pad: l.pad };
    const run = (q: Tensors) => (direction === "out" ? api.conv2d(q.x, q.w, q.b, options)
      : api.conv2dBackward(q.dy, q.x, q.w, options, { dw: false, db: false }).dx!);
    const got = run(t);
    const expected = referenceConv2d(config(l), d.x, d.w, d.b, d.dy)[direction];
    expect(firstMismatch(got.toFloat32Array(), expected), `${label}: ${direction}`).toBeNull();
    const fresh = await api.createRuntime({ simd: "fixed" });
    const q = { x: api.tensor(d.x, t.x.shape, fresh), w: api.tensor(d.w, t.w.shape, fresh), b: api.tensor(d.b, t.b.shape, fresh), dy: api.tensor(d.dy, t.dy.shape, fresh) };
    expect(got.toFloat32Array(), `${label}: ${direction} bits`).toEqual(run(q).toFloat32Array());
    got.dispose();
  }

  it("keeps a packing for the same weights, and packs again after in-place changes of w, or of b alone", async () => {
    for (const [i, l] of LAYERS.entries()) {
      const Ho = Math.floor((l.H + 2 * l.pad - l.K) / l.stride) + 1;
      const d: Data = {
        x: randomData(10 + i, 2 * l.C * l.H * l.H), w: randomData(20 + i, l.F * l.C * l.K * l.K),
        b: randomData(30 + i, l.F), dy: randomData(40 + i, 2 * l.F * Ho * Ho),
      };
      const t: Tensors = {
        x: api.tensor(d.x, [2, l.C, l.H, l.H], runtime), w: api.tensor(d.w, [l.F, l.C, l.K, l.K], runtime),
        b: api.tensor(d.b, [l.F], runtime), dy: api.tensor(d.dy, [2, l.F, Ho, Ho], runtime),
      };
      for (const direction of ["out", "dx"] as const) {
        const at = `layer ${i}`;
        await check(direction, l, d, t, `${at}, first`);
        await check(direction, l, d, t, `${at}, the same weights again`);
        d.w[d.w.length - 1] = d.w[d.w.length - 1]! + 0.5; // the last weight only: a late difference
        t.w.write(d.w);
        await check(direction, l, d, t, `${at}, w changed in place`);
        d.b[0] = d.b[0]! - 0.25;
        t.b.write(d.b);
        await check(direction, l, d, t, `${at}, b changed in place`);
      }
      for (const tensor of Object.values(t)) tensor.dispose();
    }
  });

  it("does not take new weights at a freed tensor's address for the old ones", async () => {
    const l = LAYERS[0]!;
    const xData = randomData(50, 2 * l.C * l.H * l.H), bData = randomData(51, l.F), dyData = randomData(52, 2 * l.F * l.H * l.H);
    const x = api.tensor(xData, [2, l.C, l.H, l.H], runtime), b = api.tensor(bData, [l.F], runtime);
    const dy = api.tensor(dyData, [2, l.F, l.H, l.H], runtime);
    for (let i = 0; i < 3; i++) {
      const wData = randomData(60 + i, l.F * l.C * 9);
      const w = api.tensor(wData, [l.F, l.C, 3, 3], runtime); // likely the address the last one freed
      await check("out", l, { x: xData, w: wData, b: bData, dy: dyData }, { x, w, b, dy }, `weights ${i}`);
      w.dispose();
    }
    for (const t of [x, b, dy]) t.dispose();
  });

  it("keeps a packing only in the block that made it: the block the scratch moved to is packed anew, whatever it holds", async () => {
    if (threads > 1) return; // the block's history is the same on a pool; one runtime shows it
    const own = await api.createRuntime({ simd: "fixed" });
    const l = LAYERS[0]!;
    const options = { stride: l.stride, pad: l.pad };
    const x = api.tensor(randomData(70, 2 * l.C * l.H * l.H), [2, l.C, l.H, l.H], own);
    const w = api.tensor(randomData(71, l.F * l.C * 9), [l.F, l.C, 3, 3], own);
    const b = api.tensor(randomData(72, l.F), [l.F], own);
    const first = api.conv2d(x, w, b, options).toFloat32Array();
    // The runtime's internals, on purpose: the scratch block, and the memory under it.
    const internals = own as unknown as {
      allocator: { scratchAddress: number; scratchSize: number; scratch(bytes: number, where: string): number };
      kernels: { memory: WebAssembly.Memory };
    };
    const { allocator } = internals;
    const [from, size] = [allocator.scratchAddress, allocator.scratchSize];
    const after = api.zeros([1024], own); // allocated past the block, so it cannot grow in place
    const held = new Uint8Array(internals.kernels.memory.buffer, from, size).slice();
    const to = allocator.scratch(2 * size, "test");
    expect(to).not.toBe(from);
    // The new block holds what the old one did, a finished packing of these weights with its copy of
    // w and b, except that the packing itself is zeroed: it starts after plan.ts's DATA_OFFSET (320)
    // and the copy (w and b, rounded to 64 bytes).
    held.fill(0, 320 + Math.ceil(((w.size + l.F) * 4) / 64) * 64);
    new Uint8Array(internals.kernels.memory.buffer, to, size).set(held);
    const again = api.conv2d(x, w, b, options);
    expect(again.toFloat32Array()).toEqual(first);
    for (const t of [x, w, b, after, again]) t.dispose();
  });
});
