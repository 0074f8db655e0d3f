// BatchNorm2d against the float64 reference: training and evaluation, running statistics over steps, the options, the edge batches and bad input.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { tensor, scope, BatchNorm2d, ConvError, ErrorCode, type Runtime } from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { firstMismatch } from "../reference/conv2d.js";
import { referenceBatchNorm } from "../reference/layers.js";
import { randomData } from "../helpers/setup.js";

const runs = (numRuns: number) => ({ numRuns, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });

/** Values off-centre and scaled per seed, so that the mean and variance are not 0 and 1 already. */
const batchData = (seed: number, n: number, shift: number, scale: number) => randomData(seed, n).map((v) => shift + scale * v);

/**
 * dx in training mode is γ/√(σ² + ε)·(dy − mean(dy) − x̂·mean(dy·x̂)): where a channel's values are
 * nearly equal (two values a hair apart) the terms cancel and float32 keeps only their own relative
 * precision, so the error is measured against the size of the terms, |γ|/√(σ² + ε)·max|dy| per channel,
 * not against the small difference left.
 */
function dxMismatch(actual: Float32Array, ref: { dx: Float64Array; variance: Float64Array }, gamma: ArrayLike<number>, dy: ArrayLike<number>, N: number, C: number, plane: number): string | null {
  for (let c = 0; c < C; c++) {
    let dyMax = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < plane; j++) dyMax = Math.max(dyMax, Math.abs(dy[(i * C + c) * plane + j]!));
    const termScale = (Math.abs(gamma[c]!) / Math.sqrt(ref.variance[c]! + 1e-5)) * dyMax;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < plane; j++) {
        const k = (i * C + c) * plane + j;
        if (Math.abs(actual[k]! - ref.dx[k]!) > 1e-4 * Math.max(termScale, Math.abs(ref.dx[k]!)) + 1e-6) return `index ${k}: got ${actual[k]}, expected ${ref.dx[k]} (terms of ${termScale})`;
      }
    }
  }
  return null;
}

const shapes = fc.record({
  N: fc.integer({ min: 1, max: 4 }), C: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
}).filter((s) => s.N * s.H * s.W >= 2);

describe.each(BUILDS)("the %s build", (build) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await initBuild(build);
  });

  it("training: y, dx, dγ, dβ with the batch's statistics, and the running statistics after several steps", () => {
    fc.assert(fc.property(shapes, fc.nat(), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0.1, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }), (s, seed, shift, scale, momentum) => {
        scope(() => {
          const { N, C, H, W } = s, n = N * C * H * W;
          const bn = new BatchNorm2d({ numFeatures: C, momentum, runtime });
          try {
            const gamma = batchData(seed + 2, C, 1, 0.5), beta = randomData(seed + 3, C);
            bn.weight!.write(gamma);
            bn.bias!.write(beta);
            const m = Float64Array.from({ length: C }, () => 0), v = Float64Array.from({ length: C }, () => 1);
            for (let step = 0; step < 3; step++) {
              const xData = batchData(seed + 10 * step, n, shift, scale), dyData = randomData(seed + 10 * step + 1, n);
              const ref = referenceBatchNorm(xData, dyData, N, C, H * W, gamma, beta, 1e-5, null);
              const x = tensor(xData, [N, C, H, W], runtime), dy = tensor(dyData, [N, C, H, W], runtime);
              bn.zeroGrad();
              expect(firstMismatch(bn.forward(x).toFloat32Array(), ref.y), `step ${step} y`).toBeNull();
              expect(dxMismatch(bn.backward(dy).toFloat32Array(), ref, gamma, dyData, N, C, H * W), `step ${step} dx`).toBeNull();
              expect(firstMismatch(bn.weightGrad!.toFloat32Array(), ref.dGamma), "dγ").toBeNull();
              expect(firstMismatch(bn.biasGrad!.toFloat32Array(), ref.dBeta), "dβ").toBeNull();
              for (let c = 0; c < C; c++) {
                m[c] = (1 - Math.fround(momentum)) * m[c]! + Math.fround(momentum) * ref.mean[c]!;
                v[c] = (1 - Math.fround(momentum)) * v[c]! + Math.fround(momentum) * ref.unbiased[c]!;
              }
            }
            expect(firstMismatch(bn.runningMean!.toFloat32Array(), m), "running mean").toBeNull();
            expect(firstMismatch(bn.runningVar!.toFloat32Array(), v), "running var").toBeNull();
            expect(bn.numBatchesTracked).toBe(3);
          } finally {
            bn.dispose();
          }
        });
      }), runs(150));
  });

  it("evaluation: the running statistics normalise, nothing moves them, and dx is γ/√(σ² + ε)·dy", () => {
    fc.assert(fc.property(shapes, fc.nat(), (s, seed) => {
      scope(() => {
        const { N, C, H, W } = s, n = N * C * H * W;
        const bn = new BatchNorm2d({ numFeatures: C, eps: 1e-3, runtime });
        try {
          const mean = randomData(seed + 5, C), variance = batchData(seed + 6, C, 1.5, 1);
          bn.runningMean!.write(mean);
          bn.runningVar!.write(variance);
          const gamma = batchData(seed + 2, C, 1, 0.5), beta = randomData(seed + 3, C);
          bn.weight!.write(gamma);
          bn.bias!.write(beta);
          expect(bn.eval()).toBe(bn);
          expect(bn.training).toBe(false);
          const xData = batchData(seed, n, 0.5, 2), dyData = randomData(seed + 1, n);
          const ref = referenceBatchNorm(xData, dyData, N, C, H * W, gamma, beta, Math.fround(1e-3), { mean, variance });
          expect(firstMismatch(bn.forward(tensor(xData, [N, C, H, W], runtime)).toFloat32Array(), ref.y)).toBeNull();
          expect(firstMismatch(bn.backward(tensor(dyData, [N, C, H, W], runtime)).toFloat32Array(), ref.dx)).toBeNull();
          expect(firstMismatch(bn.weightGrad!.toFloat32Array(), ref.dGamma)).toBeNull();
          expect(bn.runningMean!.toFloat32Array()).toEqual(mean);
          expect(bn.runningVar!.toFloat32Array()).toEqual(variance);
          expect(bn.numBatchesTracked).toBe(0);
        } finally {
          bn.dispose();
        }
      });
    }), runs(100));
  });

  it("a backward after the mode changed still uses the statistics its forward used", () => {
    scope(() => {
      const [N, C, H, W] = [2, 3, 4, 5], n = N * C * H * W;
      const bn = new BatchNorm2d({ numFeatures: C, runtime });
      try {
        const xData = batchData(1, n, 2, 3), dyData = randomData(2, n);
        const ref = referenceBatchNorm(xData, dyData, N, C, H * W, new Float32Array(C).fill(1), new Float32Array(C), 1e-5, null);
        bn.forward(tensor(xData, [N, C, H, W], runtime));
        bn.eval();
        expect(firstMismatch(bn.backward(tensor(dyData, [N, C, H, W], runtime)).toFloat32Array(), ref.dx)).toBeNull();
      } finally {
        bn.dispose();
      }
    });
  });

  it("affine: false has no parameters; trackRunningStats: false normalises with the batch's statistics in evaluation too", () => {
    scope(() => {
      const [N, C, H, W] = [3, 2, 3, 3], n = N * C * H * W;
      const bn = new BatchNorm2d({ numFeatures: C, affine: false, trackRunningStats: false, runtime });
      try {
        expect(bn.parameters()).toEqual([]);
        expect([bn.weight, bn.runningMean]).toEqual([null, null]);
        bn.eval();
        const xData = batchData(4, n, -1, 2), dyData = randomData(5, n);
        const ref = referenceBatchNorm(xData, dyData, N, C, H * W, new Float32Array(C).fill(1), new Float32Array(C), 1e-5, null);
        expect(firstMismatch(bn.forward(tensor(xData, [N, C, H, W], runtime)).toFloat32Array(), ref.y)).toBeNull();
        expect(firstMismatch(bn.backward(tensor(dyData, [N, C, H, W], runtime)).toFloat32Array(), ref.dx)).toBeNull();
      } finally {
        bn.dispose();
      }
    });
  });

  it("a channel of one value everywhere normalises to β with a finite dx; large close values keep their variance (two-pass)", () => {
    scope(() => {
      const bn = new BatchNorm2d({ numFeatures: 2, runtime });
      try {
        bn.bias!.write([0.25, 0]);
        const xData = new Float32Array(2 * 2 * 8);
        for (let i = 0; i < xData.length; i++) xData[i] = ((i >> 3) & 1) === 0 ? 3 : 1000 + (i % 8) * 0.01;
        const y = bn.forward(tensor(xData, [2, 2, 2, 4], runtime)).toFloat32Array();
        const dx = bn.backward(tensor(randomData(9, 32), [2, 2, 2, 4], runtime)).toFloat32Array();
        expect(Array.from(y.slice(0, 8))).toEqual(new Array(8).fill(0.25));
        expect(dx.every(Number.isFinite)).toBe(true);
        const ref = referenceBatchNorm(xData, new Float32Array(32), 2, 2, 8, [1, 1], [0.25, 0], 1e-5, null);
        // Values 1000 + 0.01k: a one-pass Σx² − nμ² in float32 would lose them entirely.
        expect(Math.abs(bn.runningVar!.toFloat32Array()[1]! - (0.9 + 0.1 * ref.unbiased[1]!))).toBeLessThan(1e-6);
        // x − μ of values near 1000 carries float32's 6e-5 steps: 2e-3 of a deviation of 0.035, as in PyTorch.
        for (let i = 8; i < 16; i++) expect(Math.abs(y[i]! - ref.y[i]!)).toBeLessThan(5e-3);
      } finally {
        bn.dispose();
      }
    });
  });

  it("bad options and inputs are ConvErrors naming BatchNorm2d and the argument; a failed forward leaves the running statistics", () => {
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as ConvError;
      }
      throw new Error("no error");
    };
    const bn = new BatchNorm2d({ numFeatures: 3, runtime });
    try {
      scope(() => {
        const cases: [() => unknown, string, string, string][] = [
          [() => new BatchNorm2d({ numFeatures: 0, runtime }), ErrorCode.DIMENSION, "BatchNorm2d", "options.numFeatures"],
          [() => new BatchNorm2d({ numFeatures: 2, eps: 0, runtime }), ErrorCode.INVALID_OPTION, "BatchNorm2d", "options.eps"],
          [() => new BatchNorm2d({ numFeatures: 2, momentum: 1.5, runtime }), ErrorCode.INVALID_OPTION, "BatchNorm2d", "options.momentum"],
          [() => new BatchNorm2d({ numFeatures: 2, affine: 1 as never, runtime }), ErrorCode.INVALID_OPTION, "BatchNorm2d", "options.affine"],
          [() => bn.forward(tensor(new Float32Array(8), [1, 2, 2, 2], runtime)), ErrorCode.CHANNELS, "BatchNorm2d.forward", "x"],
          [() => bn.forward(tensor(new Float32Array(3), [1, 3], runtime)), ErrorCode.RANK, "BatchNorm2d.forward", "x"],
          [() => bn.forward(tensor(new Float32Array(3), [1, 3, 1, 1], runtime)), ErrorCode.DIMENSION, "BatchNorm2d.forward", "x"],
          [() => bn.backward(tensor(new Float32Array(3), [1, 3, 1, 1], runtime)), ErrorCode.INVALID_OPTION, "BatchNorm2d.backward", "this"],
        ];
        for (const [f, code, where, argument] of cases) {
          const e = thrown(f);
          expect(e, where).toBeInstanceOf(ConvError);
          expect([e.code, e.argument], `${where} ${argument}`).toEqual([code, argument]);
          expect(e.message.startsWith(where), e.message).toBe(true);
        }
        expect(bn.runningMean!.toFloat32Array()).toEqual(new Float32Array(3));
        expect(bn.runningVar!.toFloat32Array()).toEqual(new Float32Array(3).fill(1));
        expect(bn.numBatchesTracked).toBe(0);
        // In evaluation a single value per channel is fine: the running statistics normalise it.
        bn.eval();
        expect(bn.forward(tensor([1, 2, 3], [1, 3, 1, 1], runtime)).shape).toEqual([1, 3, 1, 1]);
      });
    } finally {
      bn.dispose();
    }
  });
});
