// Property test: sigmoid, tanh, leakyRelu (functions and layers) and mseLoss against the float64 reference, any length, with the special values.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import {
  tensor, scope, sigmoid, sigmoidBackward, tanh, tanhBackward, leakyRelu, leakyReluBackward, mseLoss, Sigmoid, Tanh, LeakyReLU,
  ConvError, ErrorCode, type Runtime,
} from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { firstMismatch } from "../reference/conv2d.js";
import { referenceLeakyRelu, referenceMse, referenceSigmoid, referenceTanh } from "../reference/layers.js";
import { randomData } from "../helpers/setup.js";

const runs = (numRuns: number) => ({ numRuns, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined });
/** Lengths around the 4-lane boundary (SIMD body and scalar tail), values spread to ±8 (tanh and sigmoid saturate there). */
const length = fc.integer({ min: 1, max: 67 });
const spread = (seed: number, n: number) => randomData(seed, n).map((v) => 8 * v);

describe.each(BUILDS)("the %s build", (build) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await initBuild(build);
  });

  it("sigmoid, tanh and leakyRelu and their backward equal the reference (functions and layers alike)", () => {
    fc.assert(fc.property(length, fc.nat(), fc.double({ min: -2, max: 2, noNaN: true }), (n, seed, slope) => {
      scope(() => {
        const xData = spread(seed, n), dyData = randomData(seed + 1, n);
        const x = tensor(xData, [n], runtime), dy = tensor(dyData, [n], runtime);
        const cases = [
          ["sigmoid", referenceSigmoid(xData, dyData), sigmoid(x), sigmoidBackward(dy, x), new Sigmoid()],
          ["tanh", referenceTanh(xData, dyData), tanh(x), tanhBackward(dy, x), new Tanh()],
          ["leakyRelu", referenceLeakyRelu(xData, dyData, Math.fround(slope)), leakyRelu(x, slope), leakyReluBackward(dy, x, slope), new LeakyReLU({ negativeSlope: slope })],
        ] as const;
        for (const [name, ref, y, dx, layer] of cases) {
          expect(firstMismatch(y.toFloat32Array(), ref.y), name).toBeNull();
          expect(firstMismatch(dx.toFloat32Array(), ref.dx), `${name} dx`).toBeNull();
          expect(layer.forward(x).toFloat32Array(), `${name} layer`).toEqual(y.toFloat32Array());
          expect(layer.backward(dy).toFloat32Array(), `${name} layer dx`).toEqual(dx.toFloat32Array());
        }
      });
    }), runs(200));
  });

  it("keep PyTorch's special values: NaN stays NaN, ±∞ saturate, tanh keeps −0, leakyRelu's slope at 0", () => {
    const x = tensor([NaN, Infinity, -Infinity, -0, 0, 100, -100, 1e-30], [8], runtime);
    const s = sigmoid(x).toFloat32Array(), t = tanh(x).toFloat32Array(), l = leakyRelu(x, 0.5).toFloat32Array();
    expect(Array.from(s.slice(0, 3))).toEqual([NaN, 1, 0]);
    expect(Array.from(t.slice(0, 5))).toEqual([NaN, 1, -1, -0, 0]);
    expect(Object.is(t[3], -0)).toBe(true);
    expect(t[7]).toBeCloseTo(1e-30, 35);
    expect(Array.from(l.slice(0, 5))).toEqual([NaN, Infinity, -Infinity, -0, 0]);
    const g = leakyReluBackward(tensor(new Float32Array(8).fill(1), [8], runtime), x, 0.5).toFloat32Array();
    expect(Array.from(g)).toEqual([0.5, 1, 0.5, 0.5, 0.5, 1, 0.5, 1]);
  });

  it("sigmoid is within 2.5 ulp and tanh within 1.5 ulp of float64 on 2^20 points of [−100, 100] (sigmoid where it is a normal float32)", () => {
    const n = 1 << 20;
    const xs = Float32Array.from({ length: n }, (_, i) => -100 + (200 * i) / n);
    /** One unit in the last place of float32 at v. */
    const ulp = (v: number) => 2 ** Math.max(Math.floor(Math.log2(Math.abs(v) || 2 ** -149)) - 23, -149);
    scope(() => {
      const x = tensor(xs, [n], runtime);
      for (const [name, y, ref, limit, from] of [
        ["sigmoid", sigmoid(x).toFloat32Array(), (v: number) => 1 / (1 + Math.exp(-v)), 2.5, -87.3],
        ["tanh", tanh(x).toFloat32Array(), Math.tanh, 1.5, -Infinity],
      ] as const) {
        let worst = 0;
        for (let i = 0; i < n; i++) if (xs[i]! >= from) worst = Math.max(worst, Math.abs(y[i]! - ref(xs[i]!)) / ulp(ref(xs[i]!)));
        expect(worst, name).toBeLessThanOrEqual(limit);
      }
    });
  });

  it("mseLoss equals the reference's loss and gradient, and { grad: false } gives the loss alone", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3000 }), fc.nat(), (n, seed) => {
      scope(() => {
        const p = randomData(seed, n), t = randomData(seed + 1, n);
        const ref = referenceMse(p, t);
        const { loss, grad } = mseLoss(tensor(p, [n], runtime), tensor(t, [n], runtime));
        // The float32 terms, summed in float64 blocks: relative 1e-6 of the loss.
        expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-6 * ref.loss + 1e-12);
        expect(firstMismatch(grad.toFloat32Array(), ref.grad)).toBeNull();
        expect(mseLoss(tensor(p, [n], runtime), tensor(t, [n], runtime), { grad: false }).grad).toBeNull();
      });
    }), runs(100));
  });

  it("mseLoss of two shapes is ERR_SHAPE_MISMATCH naming target; LeakyReLU's slope must be finite", () => {
    const code = (f: () => unknown) => {
      try {
        f();
        return "none";
      } catch (e) {
        return (e as ConvError).code;
      }
    };
    expect(code(() => mseLoss(tensor([1, 2], [2], runtime), tensor([1, 2], [1, 2], runtime)))).toBe(ErrorCode.SHAPE_MISMATCH);
    expect(code(() => new LeakyReLU({ negativeSlope: NaN }))).toBe(ErrorCode.INVALID_OPTION);
    expect(code(() => leakyRelu(tensor([1], [1], runtime), Infinity))).toBe(ErrorCode.INVALID_OPTION);
  });
});
