// Memory: growth never leaves a stale view, dispose and scope free what they should, long runs stay flat.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, tensor, zeros, conv2d, conv2dBackward, scope, keep, memoryUsage, Conv2d, ConvError, ErrorCode, type Runtime,
} from "../../js/index.js";
import { Allocator } from "../../js/core/memory.js";
import { referenceConv2d, firstMismatch } from "../reference/conv2d.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await init();
});

describe("memory growth", () => {
  it("old tensors read correctly and compute correctly after memory.grow", () => {
    const xData = randomData(10, 1 * 3 * 8 * 8);
    const wData = randomData(11, 4 * 3 * 3 * 3);
    const x = tensor(xData, [1, 3, 8, 8], runtime);
    const w = tensor(wData, [4, 3, 3, 3], runtime);
    const before = memoryUsage(runtime).wasmMemoryBytes;
    const buffer = runtime.kernels.memory.buffer;
    // 64 MiB more than the memory has: it must grow, which detaches the old ArrayBuffer.
    const big = zeros([16, 1024, 1024], runtime);
    expect(memoryUsage(runtime).wasmMemoryBytes).toBeGreaterThan(before);
    expect(buffer.byteLength).toBe(0); // the engine detached the old buffer: any cached view would now be stale
    expect(x.toFloat32Array()).toEqual(xData);
    expect(w.toFloat32Array()).toEqual(wData);
    const out = conv2d(x, w, null, { pad: 1 });
    const expected = referenceConv2d({
      N: 1, C: 3, H: 8, W: 8, F: 4, KH: 3, KW: 3, strideH: 1, strideW: 1,
      padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1,
    }, xData, wData, null);
    expect(firstMismatch(out.toFloat32Array(), expected.out)).toBeNull();
    for (const t of [x, w, big, out]) t.dispose();
  });

  it("growth inside a call (the output and scratch do not fit yet) keeps the inputs intact", () => {
    const xData = randomData(12, 1 * 8 * 96 * 96);
    const wData = randomData(13, 16 * 8 * 3 * 3);
    const x = tensor(xData, [1, 8, 96, 96], runtime);
    const w = tensor(wData, [16, 8, 3, 3], runtime);
    const dyData = randomData(14, 16 * 96 * 96);
    const dy = tensor(dyData, [1, 16, 96, 96], runtime);
    const before = memoryUsage(runtime).wasmMemoryBytes;
    const filler = zeros([before / 4 - 1024], runtime); // fill the memory so the next call has to grow it
    const { dx, dw } = conv2dBackward(dy, x, w, { pad: 1 }, { db: false });
    expect(memoryUsage(runtime).wasmMemoryBytes).toBeGreaterThan(before);
    const expected = referenceConv2d({
      N: 1, C: 8, H: 96, W: 96, F: 16, KH: 3, KW: 3, strideH: 1, strideW: 1,
      padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1,
    }, xData, wData, null, dyData);
    expect(firstMismatch(dx!.toFloat32Array(), expected.dx)).toBeNull();
    expect(firstMismatch(dw!.toFloat32Array(), expected.dw)).toBeNull();
    for (const t of [x, w, dy, filler, dx!, dw!]) t.dispose();
  });
});

describe("dispose, using and scope", () => {
  it("dispose frees the bytes, is idempotent, and a disposed tensor refuses to be used", () => {
    const before = memoryUsage(runtime).bytesInUse;
    const t = zeros([100, 100], runtime);
    expect(memoryUsage(runtime).bytesInUse).toBeGreaterThanOrEqual(before + 40000);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(memoryUsage(runtime).bytesInUse).toBe(before);
    expect(() => t.toFloat32Array()).toThrow(ConvError);
    expect(() => t.write([1])).toThrowError(/disposed/);
  });

  it("`using` disposes at the end of the block", () => {
    const before = memoryUsage(runtime).bytesInUse;
    let escaped;
    {
      using t = zeros([10], runtime);
      escaped = t;
      expect(memoryUsage(runtime).bytesInUse).toBeGreaterThan(before);
    }
    expect(escaped.disposed).toBe(true);
    expect(memoryUsage(runtime).bytesInUse).toBe(before);
  });

  it("scope disposes what fn created except what it returns, which passes to the enclosing scope", () => {
    const before = memoryUsage(runtime).bytesInUse;
    let inner1, inner2, kept;
    const outer = scope(() => {
      const result = scope(() => {
        inner1 = zeros([4], runtime);
        inner2 = zeros([4], runtime);
        return { a: inner2, list: [zeros([2], runtime)] };
      });
      kept = keep(zeros([3], runtime));
      expect(inner1!.disposed).toBe(true);
      expect(inner2!.disposed).toBe(false);
      return result.list[0]!;
    });
    expect(inner2!.disposed).toBe(true); // returned from the inner scope, not from the outer one
    expect(outer.disposed).toBe(false);
    expect(kept!.disposed).toBe(false);
    outer.dispose();
    kept!.dispose();
    expect(memoryUsage(runtime).bytesInUse).toBe(before);
  });

  it("scope disposes everything when fn throws, and refuses async functions", () => {
    const before = memoryUsage(runtime).bytesInUse;
    expect(() => scope(() => {
      zeros([8], runtime);
      throw new Error("boom");
    })).toThrowError("boom");
    expect(memoryUsage(runtime).bytesInUse).toBe(before);
    let error: unknown;
    try {
      scope((async () => zeros([8], runtime)) as never);
    } catch (e) {
      error = e;
    }
    expect((error as ConvError).code).toBe(ErrorCode.ASYNC_SCOPE);
  });

  it("layer parameters survive the scope they were built in", () => {
    const layer = scope(() => new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, runtime }));
    expect(layer.weight.disposed).toBe(false);
    expect(layer.bias!.disposed).toBe(false);
    layer.dispose();
  });
});

describe("long runs", () => {
  it("10,000 forward+backward iterations keep bytes in use, scratch and memory flat", () => {
    const layer = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, pad: 1, stride: 2, runtime, seed: 1 });
    const x = tensor(randomData(20, 2 * 3 * 9 * 9), [2, 3, 9, 9], runtime);
    const step = (): void => {
      scope(() => {
        const y = layer.forward(x);
        const dy = zeros(y.shape, runtime);
        layer.backward(dy);
        const grads = conv2dBackward(dy, x, layer.weight, layer.options);
        return grads.dx === null ? null : undefined;
      });
    };
    step();
    const start = memoryUsage(runtime);
    for (let i = 0; i < 10_000; i++) step();
    const end = memoryUsage(runtime);
    expect(end.bytesInUse).toBe(start.bytesInUse);
    expect(end.scratchBytes).toBe(start.scratchBytes);
    expect(end.wasmMemoryBytes).toBe(start.wasmMemoryBytes);
    x.dispose();
    layer.dispose();
  });
});

describe("the allocator", () => {
  it("never hands out overlapping blocks and coalesces everything back on free", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const allocator = new Allocator(memory, 1024);
    const live = new Map<number, number>();
    let state = 12345;
    const random = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 5000; i++) {
      if (live.size > 0 && random() < 0.45) {
        const keys = [...live.keys()];
        const address = keys[Math.floor(random() * keys.length)]!;
        allocator.free(address);
        live.delete(address);
      } else {
        const size = 1 + Math.floor(random() * 5000);
        const address = allocator.allocate(size, "test");
        if (address % 64 !== 0 || address < 1024) expect.fail(`misplaced block at ${address}`);
        const overlapping = [...live].filter(([other, otherSize]) => !(address + size <= other || other + otherSize <= address));
        if (overlapping.length > 0) expect.fail(`block ${address}+${size} overlaps ${overlapping[0]}`);
        live.set(address, size);
      }
    }
    const grown = memory.buffer.byteLength;
    for (const address of live.keys()) allocator.free(address);
    expect(allocator.usage().bytesInUse).toBe(0);
    // Everything coalesced back: one block as large as all of it fits at the bottom again.
    expect(allocator.allocate(grown - 2048, "test")).toBe(1024);
    expect(memory.buffer.byteLength).toBe(grown);
    expect(() => allocator.free(12345)).toThrowError(/unknown address/);
  });
});
