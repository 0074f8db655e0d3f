// Property test: maxPool2d, avgPool2d, adaptiveAvgPool2d (functions and layers) and their backward against the float64 references, over every option and the edges.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import {
  tensor, scope, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, adaptiveAvgPool2d, adaptiveAvgPool2dBackward,
  MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, ConvError, ErrorCode, type Runtime,
} from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { firstMismatch } from "../reference/conv2d.js";
import {
  poolOutputSize, referenceAdaptiveAvgPool2d, referenceAvgPool2d, referenceMaxPool2d, type PoolConfig,
} from "../reference/layers.js";
import { randomData } from "../helpers/setup.js";

const runs = (numRuns: number) => ({ numRuns, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });

/**
 * A pooling: planes, sizes up to 23 (several four-output interior runs and edges on both sides),
 * windows to 5, strides to 3 (strided loads of 1, 2 and more), dilation to 3, padding up to PyTorch's
 * limit of half the window, ceil mode on and off. Shrunk to one the output can hold.
 */
const config = (max: boolean) => fc.record({
  planes: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 23 }), W: fc.integer({ min: 1, max: 23 }),
  KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }), sH: fc.integer({ min: 1, max: 3 }), sW: fc.integer({ min: 1, max: 3 }),
  pH: fc.nat(3), pW: fc.nat(3), dH: fc.integer({ min: 1, max: max ? 3 : 1 }), dW: fc.integer({ min: 1, max: max ? 3 : 1 }),
  ceil: fc.boolean(), countIncludePad: fc.boolean(),
}).map((c): PoolConfig => {
  const pH = Math.min(c.pH, Math.floor((c.dH * (c.KH - 1) + 1) / 2)), pW = Math.min(c.pW, Math.floor((c.dW * (c.KW - 1) + 1) / 2));
  // Grow the input until the window with its padding fits (the output is at least 1×1).
  const H = Math.max(c.H, c.dH * (c.KH - 1) + 1 - 2 * pH), W = Math.max(c.W, c.dW * (c.KW - 1) + 1 - 2 * pW);
  return { ...c, pH, pW, H, W };
});

/** Values with many ties (a few levels), now and then a NaN or −∞ (maxPool2d's rules), or spread (avgPool2d). */
function poolData(seed: number, n: number, ties: boolean, specials: boolean): Float32Array {
  const r = randomData(seed, n);
  return r.map((v, i) => {
    if (specials && i % 37 === 5) return i % 2 ? NaN : -Infinity;
    return ties ? Math.round(v * 2) / 2 : v;
  });
}

const maxOptions = (c: PoolConfig) => ({ kernelSize: [c.KH, c.KW] as [number, number], stride: [c.sH, c.sW] as [number, number],
  pad: [c.pH, c.pW] as [number, number], dilation: [c.dH, c.dW] as [number, number], ceilMode: c.ceil });
const avgOptions = (c: PoolConfig) => ({ kernelSize: [c.KH, c.KW] as [number, number], stride: [c.sH, c.sW] as [number, number],
  pad: [c.pH, c.pW] as [number, number], ceilMode: c.ceil, countIncludePad: c.countIncludePad });

/** Exact: a maximum is one of its inputs, and NaN is NaN. */
function sameValues(actual: Float32Array, expected: Float64Array): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], Math.fround(expected[i]!)) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
    return `index ${i}: got ${actual[i]}, expected ${expected[i]}`;
  }
  return null;
}

describe.each(BUILDS)("the %s build", (build) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await initBuild(build);
  });

  it("maxPool2d and its backward equal the reference: every option, PyTorch's argmax among ties and NaN", () => {
    fc.assert(fc.property(config(true), fc.nat(), fc.boolean(), fc.boolean(), (c, seed, ties, specials) => {
      scope(() => {
        const outH = poolOutputSize(c.H, c.KH, c.pH, c.sH, c.dH, c.ceil), outW = poolOutputSize(c.W, c.KW, c.pW, c.sW, c.dW, c.ceil);
        const xData = poolData(seed, c.planes * c.H * c.W, ties, specials), dyData = randomData(seed + 1, c.planes * outH * outW);
        const ref = referenceMaxPool2d(c, xData, dyData);
        const x = tensor(xData, [1, c.planes, c.H, c.W], runtime), dy = tensor(dyData, [1, c.planes, outH, outW], runtime);
        const y = maxPool2d(x, maxOptions(c));
        expect(y.shape).toEqual([1, c.planes, outH, outW]);
        expect(sameValues(y.toFloat32Array(), ref.y)).toBeNull();
        expect(firstMismatch(maxPool2dBackward(dy, x, maxOptions(c)).toFloat32Array(), ref.dx)).toBeNull();
        const layer = new MaxPool2d(maxOptions(c));
        expect(layer.forward(x).toFloat32Array()).toEqual(y.toFloat32Array());
        expect(firstMismatch(layer.backward(dy).toFloat32Array(), ref.dx)).toBeNull();
      });
    }), runs(400));
  });

  it("avgPool2d and its backward equal the reference: every option, countIncludePad both ways, ceil-mode windows clipped", () => {
    fc.assert(fc.property(config(false), fc.nat(), (c, seed) => {
      scope(() => {
        const outH = poolOutputSize(c.H, c.KH, c.pH, c.sH, 1, c.ceil), outW = poolOutputSize(c.W, c.KW, c.pW, c.sW, 1, c.ceil);
        const xData = randomData(seed, c.planes * c.H * c.W), dyData = randomData(seed + 1, c.planes * outH * outW);
        const ref = referenceAvgPool2d(c, xData, dyData);
        const x = tensor(xData, [c.planes, 1, c.H, c.W], runtime), dy = tensor(dyData, [c.planes, 1, outH, outW], runtime);
        const y = avgPool2d(x, avgOptions(c));
        expect(y.shape).toEqual([c.planes, 1, outH, outW]);
        expect(firstMismatch(y.toFloat32Array(), ref.y)).toBeNull();
        expect(firstMismatch(avgPool2dBackward(dy, x, avgOptions(c)).toFloat32Array(), ref.dx)).toBeNull();
        const layer = new AvgPool2d(avgOptions(c));
        expect(layer.forward(x).toFloat32Array()).toEqual(y.toFloat32Array());
        expect(firstMismatch(layer.backward(dy).toFloat32Array(), ref.dx)).toBeNull();
      });
    }), runs(400));
  });

  it("adaptiveAvgPool2d and its backward equal the reference, for outputs smaller, equal and larger than the input", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 19 }),
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.nat(), (planes, H, W, outH, outW, seed) => {
        scope(() => {
          const xData = randomData(seed, planes * H * W), dyData = randomData(seed + 1, planes * outH * outW);
          const ref = referenceAdaptiveAvgPool2d(planes, H, W, outH, outW, xData, dyData);
          const x = tensor(xData, [1, planes, H, W], runtime), dy = tensor(dyData, [1, planes, outH, outW], runtime);
          const y = adaptiveAvgPool2d(x, [outH, outW]);
          expect(y.shape).toEqual([1, planes, outH, outW]);
          expect(firstMismatch(y.toFloat32Array(), ref.y)).toBeNull();
          expect(firstMismatch(adaptiveAvgPool2dBackward(dy, x, [outH, outW]).toFloat32Array(), ref.dx)).toBeNull();
          const layer = new AdaptiveAvgPool2d([outH, outW]);
          expect(layer.forward(x).toFloat32Array()).toEqual(y.toFloat32Array());
          expect(firstMismatch(layer.backward(dy).toFloat32Array(), ref.dx)).toBeNull();
        });
      }), runs(300));
  });

  it("a number option means both axes; stride defaults to the window; AdaptiveAvgPool2d(1) is the global mean", () => {
    scope(() => {
      const xData = randomData(7, 2 * 3 * 8 * 9);
      const x = tensor(xData, [2, 3, 8, 9], runtime);
      expect(maxPool2d(x, { kernelSize: 3 }).toFloat32Array()).toEqual(maxPool2d(x, { kernelSize: [3, 3], stride: [3, 3] }).toFloat32Array());
      const g = new AdaptiveAvgPool2d(1).forward(x);
      expect(g.shape).toEqual([2, 3, 1, 1]);
      const means = Array.from({ length: 6 }, (_, p) => xData.slice(p * 72, (p + 1) * 72).reduce((a, b) => a + b, 0) / 72);
      expect(firstMismatch(g.toFloat32Array(), Float64Array.from(means))).toBeNull();
    });
  });

  it("bad options and inputs are ConvErrors naming the function or layer and the argument", () => {
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as ConvError;
      }
      throw new Error("no error");
    };
    scope(() => {
      const x = tensor(new Float32Array(16), [1, 1, 4, 4], runtime);
      const cases: [() => unknown, string, string, string][] = [
        [() => maxPool2d(x, { kernelSize: 0 }), ErrorCode.DIMENSION, "maxPool2d", "options.kernelSize"],
        [() => maxPool2d(x, { kernelSize: 2, pad: 2 }), ErrorCode.PAD, "maxPool2d", "options.pad"],
        [() => maxPool2d(x, { kernelSize: 5 }), ErrorCode.KERNEL_TOO_LARGE, "maxPool2d", "x"],
        [() => avgPool2d(x, { kernelSize: 2, dilation: 2 } as never), ErrorCode.UNKNOWN_OPTION, "avgPool2d", "options.dilation"],
        [() => avgPool2d(tensor([1, 2, 3, 4], [2, 2], runtime), { kernelSize: 1 }), ErrorCode.RANK, "avgPool2d", "x"],
        [() => avgPool2dBackward(tensor(new Float32Array(4), [1, 1, 1, 4], runtime), x, { kernelSize: 2 }), ErrorCode.GRAD_SHAPE, "avgPool2dBackward", "dy"],
        [() => adaptiveAvgPool2d(x, [2, 0]), ErrorCode.DIMENSION, "adaptiveAvgPool2d", "outputSize"],
        [() => new MaxPool2d({ kernelSize: [2, 2], stride: 1.5 }), ErrorCode.STRIDE, "MaxPool2d", "options.stride"],
        [() => new AvgPool2d({ kernelSize: 3, ceilMode: "yes" as never }), ErrorCode.INVALID_OPTION, "AvgPool2d", "options.ceilMode"],
        [() => new MaxPool2d({ kernelSize: 2 }).backward(x), ErrorCode.INVALID_OPTION, "MaxPool2d.backward", "this"],
      ];
      for (const [f, code, where, argument] of cases) {
        const e = thrown(f);
        expect(e, where).toBeInstanceOf(ConvError);
        expect([e.code, e.argument], `${where} ${argument}`).toEqual([code, argument]);
        expect(e.message.startsWith(where), e.message).toBe(true);
      }
    });
  });
});
