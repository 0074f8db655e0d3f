// Property test: ReLU, max-pool, linear, softmax cross-entropy and countCorrect against the float64 reference on random shapes.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import {
  init, tensor, scope, relu, reluBackward, maxPool2x2, maxPool2x2Backward, linear, linearBackward,
  softmaxCrossEntropy, countCorrect, reshape,
} from "../../js/index.js";
import { firstMismatch } from "../reference/conv2d.js";
import {
  referenceRelu, referenceMaxPool, referenceLinear, referenceSoftmaxCrossEntropy, referenceCountCorrect,
} from "../reference/training.js";
import { randomData } from "../helpers/setup.js";


beforeAll(async () => {
  await init();
});

// fast-check prints the seed and the shrunk counterexample of a failure; FC_SEED replays a run.
const runs = (numRuns: number) => ({ numRuns, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });

/** Lengths around the 4-lane boundary, so both the SIMD body and the scalar tail run. */
const length = fc.integer({ min: 1, max: 67 });

describe("training layers against the float64 reference", () => {
  it("relu and reluBackward, any length (body and tail)", () => {
    fc.assert(fc.property(length, fc.nat(), (n, seed) => {
      scope(() => {
        const xData = randomData(seed, n), dyData = randomData(seed + 1, n);
        const ref = referenceRelu(xData, dyData);
        const x = tensor(xData, [n]);
        expect(firstMismatch(relu(x).toFloat32Array(), ref.y)).toBeNull();
        expect(firstMismatch(reluBackward(tensor(dyData, [n]), x).toFloat32Array(), ref.dx)).toBeNull();
      });
    }), runs(300));
  });

  it("maxPool2x2 and its backward, odd and even sizes, with ties", () => {
    const shape = fc.record({
      N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 4 }),
      H: fc.integer({ min: 2, max: 21 }), W: fc.integer({ min: 2, max: 21 }),
      ties: fc.boolean(), seed: fc.nat(),
    });
    fc.assert(fc.property(shape, ({ N, C, H, W, ties, seed }) => {
      scope(() => {
        let xData = randomData(seed, N * C * H * W);
        // Values from {−1, 0, 1}: most windows hold equal maxima, where the first must win.
        if (ties) xData = xData.map((v) => Math.round(v));
        const Ho = H >> 1, Wo = W >> 1;
        const dyData = randomData(seed + 1, N * C * Ho * Wo);
        const ref = referenceMaxPool(xData, N * C, H, W, dyData);
        const x = tensor(xData, [N, C, H, W]);
        const y = maxPool2x2(x);
        expect(y.shape).toEqual([N, C, Ho, Wo]);
        expect(firstMismatch(y.toFloat32Array(), ref.y)).toBeNull();
        const dx = maxPool2x2Backward(tensor(dyData, [N, C, Ho, Wo]), x);
        expect(firstMismatch(dx.toFloat32Array(), ref.dx)).toBeNull();
      });
    }), runs(300));
  });

  it("linear and linearBackward, with and without bias", () => {
    const shape = fc.record({
      N: fc.integer({ min: 1, max: 11 }), inF: fc.integer({ min: 1, max: 40 }), outF: fc.integer({ min: 1, max: 19 }),
      bias: fc.boolean(), seed: fc.nat(),
    });
    fc.assert(fc.property(shape, ({ N, inF, outF, bias, seed }) => {
      scope(() => {
        const xData = randomData(seed, N * inF), wData = randomData(seed + 1, outF * inF);
        const bData = bias ? randomData(seed + 2, outF) : null;
        const dyData = randomData(seed + 3, N * outF);
        const ref = referenceLinear(xData, wData, bData, N, inF, outF, dyData);
        const x = tensor(xData, [N, inF]), w = tensor(wData, [outF, inF]);
        const y = linear(x, w, bData ? tensor(bData, [outF]) : null);
        expect(y.shape).toEqual([N, outF]);
        expect(firstMismatch(y.toFloat32Array(), ref.y)).toBeNull();
        const g = linearBackward(tensor(dyData, [N, outF]), x, w);
        expect(firstMismatch(g.dx!.toFloat32Array(), ref.dx)).toBeNull();
        expect(firstMismatch(g.dw!.toFloat32Array(), ref.dw)).toBeNull();
        expect(firstMismatch(g.db!.toFloat32Array(), ref.db)).toBeNull();
      });
    }), runs(300));
  });

  it("softmaxCrossEntropy: mean loss and gradient, including large logits; countCorrect", () => {
    const shape = fc.record({
      N: fc.integer({ min: 1, max: 9 }), K: fc.integer({ min: 1, max: 23 }),
      scale: fc.constantFrom(1, 10, 100), seed: fc.nat(),
    });
    fc.assert(fc.property(shape, ({ N, K, scale, seed }) => {
      scope(() => {
        // Logits up to ±100: e^100 overflows float32, so only the max-shifted form survives this.
        const z = randomData(seed, N * K).map((v) => v * scale);
        const labels = Int32Array.from(randomData(seed + 1, N), (v) => Math.floor(((v + 1) / 2) * K));
        const ref = referenceSoftmaxCrossEntropy(z, labels, N, K);
        const logits = tensor(z, [N, K]);
        const { loss, grad } = softmaxCrossEntropy(logits, labels);
        // The loss is a mean of float32 terms (log-sum-exp and a difference), each good to a few ulp of its size.
        expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
        expect(firstMismatch(grad!.toFloat32Array(), ref.grad)).toBeNull();
        expect(countCorrect(logits, labels)).toBe(referenceCountCorrect(z, labels, N, K));
        const lossOnly = softmaxCrossEntropy(logits, labels, { grad: false });
        expect(lossOnly.grad).toBeNull();
        expect(lossOnly.loss).toBe(loss);
      });
    }), runs(300));
  });

  it("reshape keeps the values and their order", () => {
    scope(() => {
      const data = randomData(5, 2 * 3 * 4 * 5);
      const y = reshape(tensor(data, [2, 3, 4, 5]), [2, 60]);
      expect(y.shape).toEqual([2, 60]);
      expect(y.toFloat32Array()).toEqual(data);
    });
  });
});

describe("edge values", () => {
  it("max-pool: the first maximum of a window wins, NaN wins over numbers, floor mode drops the odd edge", () => {
    scope(() => {
      // One 3×5 plane: windows (0,0) all equal, (0,1) tie between top-right and bottom-left, last column and row dropped.
      const x = tensor([
        2, 2, 1, 5, 9,
        2, 2, 5, 0, 9,
        9, 9, 9, 9, 9,
      ], [1, 1, 3, 5]);
      expect(Array.from(maxPool2x2(x).toFloat32Array())).toEqual([2, 5]);
      const dx = maxPool2x2Backward(tensor([10, 20], [1, 1, 1, 2]), x).toFloat32Array();
      expect(Array.from(dx)).toEqual([10, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      const withNaN = tensor([1, NaN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
      const y = maxPool2x2(withNaN).toFloat32Array();
      expect(y[0]).toBeNaN();
      expect(Array.from(y.slice(1))).toEqual([8, 14, 16]);
      expect(Array.from(maxPool2x2Backward(tensor([1, 1, 1, 1], [1, 1, 2, 2]), withNaN).toFloat32Array().slice(0, 2))).toEqual([0, 1]);
    });
  });

  it("relu: the gradient at 0 is 0 and NaN stays NaN", () => {
    scope(() => {
      const x = tensor([0, -0, NaN, 2, -3], [5]);
      const y = relu(x).toFloat32Array();
      expect(y[2]).toBeNaN();
      expect(Array.from(reluBackward(tensor([1, 1, 1, 1, 1], [5]), x).toFloat32Array())).toEqual([0, 0, 0, 1, 0]);
    });
  });

  it("softmax cross-entropy is exact where the answer is known", () => {
    scope(() => {
      // Equal logits: softmax = 1/K, loss = log K, whatever their size.
      const { loss, grad } = softmaxCrossEntropy(tensor([1000, 1000, 1000, 1000, -1000, -1000, -1000, -1000], [2, 4]), [0, 3]);
      expect(loss).toBeCloseTo(Math.log(4), 6);
      expect(Array.from(grad!.toFloat32Array())).toEqual([-0.375, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375]);
      // A confident right answer costs almost nothing; a confident wrong one costs the margin.
      expect(softmaxCrossEntropy(tensor([50, 0], [1, 2]), [0]).loss).toBeLessThan(1e-20);
      expect(softmaxCrossEntropy(tensor([50, 0], [1, 2]), [1]).loss).toBeCloseTo(50, 5);
      // Ties: countCorrect takes the first maximum, as torch.argmax.
      expect(countCorrect(tensor([3, 3, 1, 3], [2, 2]), [1, 1])).toBe(1);
      expect(countCorrect(tensor([3, 3, 1, 3], [2, 2]), [0, 1])).toBe(2);
      expect(countCorrect(tensor([NaN, 1], [1, 2]), [0])).toBe(0);
    });
  });
});

