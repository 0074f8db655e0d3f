// Transposed convolution on the pool: both APIs on 2 and 3 threads give the single-thread build's bits, on each conv2d path it runs through.

import { describe, it, expect, afterAll } from "vitest";
import * as api from "../../dist/index.js";
import type { Runtime, Tensor, ConvTranspose2dOptions } from "../../dist/index.js";
import { randomData } from "../helpers/setup.ts";

/** Every direction over 2 MFLOP, so the pool takes it. */
const CASES: { name: string; x: number[]; w: number[]; options: ConvTranspose2dOptions }[] = [
  { name: "stride 2, pad 1, outputPadding 1 (forward by the dx scatter)", x: [2, 32, 16, 16], w: [32, 16, 3, 3], options: { stride: 2, pad: 1, outputPadding: 1 } },
  { name: "stride 1 (forward by the full correlation)", x: [2, 24, 20, 20], w: [24, 16, 3, 3], options: { pad: 1 } },
  { name: "depthwise-like, groups 16, stride 2", x: [2, 16, 24, 24], w: [16, 2, 3, 3], options: { groups: 16, stride: 2, pad: 1, outputPadding: 1 } },
  { name: "dilation 3 above the stride, outputPadding 2 (x extended, dx cropped)", x: [2, 16, 18, 18], w: [16, 16, 3, 3], options: { dilation: 3, outputPadding: 2, pad: 2 } },
];

const bitsOf = (t: Tensor) => new Uint32Array(t.toFloat32Array().buffer);

async function results(runtime: Runtime, c: (typeof CASES)[number], useAsync: boolean): Promise<Uint32Array[]> {
  const x = api.tensor(randomData(1, c.x.reduce((a, b) => a * b)), c.x, runtime);
  const w = api.tensor(randomData(2, c.w.reduce((a, b) => a * b)), c.w, runtime);
  const outChannels = c.w[1]! * (c.options.groups ?? 1);
  const b = api.tensor(randomData(3, outChannels), [outChannels], runtime);
  const y = useAsync ? await api.convTranspose2dAsync(x, w, b, c.options) : api.convTranspose2d(x, w, b, c.options);
  const dy = api.tensor(randomData(4, y.size), y.shape, runtime);
  const g = useAsync ? await api.convTranspose2dBackwardAsync(dy, x, w, c.options) : api.convTranspose2dBackward(dy, x, w, c.options);
  const out = [y, g.dx, g.dw, g.db].map(bitsOf);
  for (const t of [x, w, b, y, dy, g.dx, g.dw, g.db]) t.dispose();
  return out;
}

const runtimes: Runtime[] = [];
afterAll(() => runtimes.forEach((r) => r.terminate()));

describe.each(["fixed", "relaxed"] as const)("the %s build", (simd) => {
  it("gives the single-thread build's bits on 2 and 3 threads, synchronous and async", async () => {
    const single = await api.createRuntime({ simd });
    const reference = await Promise.all(CASES.map((c) => results(single, c, false)));
    for (const threads of [2, 3]) {
      const runtime = await api.createRuntime({ simd, threads });
      runtimes.push(runtime);
      for (const useAsync of [false, true]) {
        for (const [i, c] of CASES.entries()) {
          const got = await results(runtime, c, useAsync);
          got.forEach((bits, k) => {
            const at = bits.findIndex((v, j) => v !== reference[i]![k]![j]);
            expect(at, `${c.name}, ${["y", "dx", "dw", "db"][k]}, ${threads} threads, ${useAsync ? "async" : "sync"}`).toBe(-1);
          });
        }
      }
      expect(runtime.memoryUsage().bytesInUse).toBe(0);
    }
  });
});

describe("the layer", () => {
  it("forwardAsync and backwardAsync equal forward and backward on the pool, gradients accumulating the same", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const make = () => new api.ConvTranspose2d({ inChannels: 32, outChannels: 16, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, seed: 5, runtime });
    const a = make(), b = make();
    const x = api.tensor(randomData(7, 2 * 32 * 16 * 16), [2, 32, 16, 16], runtime);
    const ya = a.forward(x), yb = await b.forwardAsync(x);
    expect(bitsOf(yb)).toEqual(bitsOf(ya));
    const dy = api.tensor(randomData(8, ya.size), ya.shape, runtime);
    for (let i = 0; i < 2; i++) {
      const da = a.backward(dy), db = await b.backwardAsync(dy);
      expect(bitsOf(db)).toEqual(bitsOf(da));
    }
    expect(bitsOf(b.weightGrad)).toEqual(bitsOf(a.weightGrad));
    expect(bitsOf(b.biasGrad!)).toEqual(bitsOf(a.biasGrad!));
  });
});
