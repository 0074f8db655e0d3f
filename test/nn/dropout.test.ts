// Dropout: the mask's semantics and statistics, its seeding (same seed, same masks on both builds; each call a new one), evaluation as the identity, and backward through the mask.

import { describe, it, expect, beforeAll } from "vitest";
import { init, tensor, scope, Dropout, Sequential, ReLU, ConvError, ErrorCode, type Runtime } from "../../js/index.js";
import { randomData } from "../helpers/setup.js";

let fixed: Runtime, relaxed: Runtime;
beforeAll(async () => {
  fixed = await init({ simd: "fixed" });
  relaxed = await init({ simd: "relaxed" });
});

/** Values away from 0 (so that a 0 in y is a dropped element), any length. */
const nonzero = (seed: number, n: number) => randomData(seed, n).map((v) => (v >= 0 ? 0.5 + v : v - 0.5));

describe("Dropout", () => {
  it("each element is 0 or x/(1 − p), dropped with probability p (within 5σ of a binomial), the draws uncorrelated", () => {
    scope(() => {
      for (const p of [0.1, 0.5, 0.9]) {
        const n = 100_003; // an odd length: the scalar tail too
        const xData = nonzero(1, n);
        const y = new Dropout({ p, seed: 7 }).forward(tensor(xData, [n], fixed)).toFloat32Array();
        // p reaches the kernel as a float32; the scale is 1/(1 − p) rounded once.
        const scale = Math.fround(1 / (1 - Math.fround(p)));
        let dropped = 0, both = 0, wrong = 0;
        y.forEach((v, i) => {
          if (v === 0) dropped++;
          else if (v !== Math.fround(xData[i]! * scale)) wrong++;
          if (i > 0 && v === 0 && y[i - 1] === 0) both++;
        });
        expect(wrong).toBe(0);
        const sigma = Math.sqrt(n * p * (1 - p));
        expect(Math.abs(dropped - n * p), `p = ${p}`).toBeLessThan(5 * sigma);
        // Neighbours both dropped ≈ p²: the hash of i and i + 1 are independent.
        expect(Math.abs(both - (n - 1) * p * p), `p = ${p} pairs`).toBeLessThan(5 * Math.sqrt(n * p * p * (1 - p * p)) + 1);
        expect(dropped > 0 && dropped < n).toBe(true);
      }
    });
  });

  it("p = 0 keeps everything, p = 1 drops everything", () => {
    scope(() => {
      const xData = nonzero(2, 37);
      const x = tensor(xData, [37], fixed);
      expect(new Dropout({ p: 0 }).forward(x).toFloat32Array()).toEqual(xData);
      expect(new Dropout({ p: 1 }).forward(x).toFloat32Array().every((v) => v === 0)).toBe(true);
    });
  });

  it("the same seed gives the same masks call after call on both builds; another call or seed, another mask", () => {
    scope(() => {
      const n = 1031, xData = nonzero(3, n);
      const masks = (runtime: Runtime, seed: number) => {
        const d = new Dropout({ p: 0.5, seed });
        const x = tensor(xData, [n], runtime);
        return [d.forward(x).toFloat32Array(), d.forward(x).toFloat32Array()];
      };
      const [a1, a2] = masks(fixed, 5) as [Float32Array, Float32Array], [b1, b2] = masks(relaxed, 5), [c1] = masks(fixed, 6) as [Float32Array];
      expect(b1).toEqual(a1);
      expect(b2).toEqual(a2);
      const differ = (u: Float32Array, v: Float32Array) => u.filter((value, i) => (value === 0) !== (v[i] === 0)).length;
      // Independent masks of p = 0.5 disagree on about half the elements.
      expect(differ(a1, a2)).toBeGreaterThan(n / 4);
      expect(differ(a1, c1)).toBeGreaterThan(n / 4);
    });
  });

  it("backward multiplies dy by the forward's mask; evaluation hands x and dy straight back", () => {
    scope(() => {
      const n = 203, xData = nonzero(4, n), dyData = randomData(5, n);
      const d = new Dropout({ p: 0.3, seed: 1 });
      const x = tensor(xData, [n], fixed);
      const y = d.forward(x).toFloat32Array();
      const dx = d.backward(tensor(dyData, [n], fixed)).toFloat32Array();
      const scale = Math.fround(1 / (1 - Math.fround(0.3)));
      // + 0: a dropped negative dy gives −0, which is 0.
      expect(Array.from(dx, (g) => g + 0)).toEqual(Array.from(y, (v, i) => (v === 0 ? 0 : Math.fround(dyData[i]! * scale))));
      d.eval();
      expect(d.forward(x)).toBe(x);
      const dy = tensor(dyData, [n], fixed);
      expect(d.backward(dy)).toBe(dy);
      // In a Sequential the identity passes through without being freed twice.
      const model = new Sequential([new ReLU(), d, new ReLU()]);
      model.eval();
      expect(model.forward(x).toFloat32Array()).toEqual(Float32Array.from(xData, (v) => Math.max(v, 0)));
      expect(model.backward(dy).toFloat32Array()).toEqual(Float32Array.from(dyData, (g, i) => (xData[i]! > 0 ? g : 0)));
      model.dispose();
    });
  });

  it("a backward after train() follows its forward (taken in evaluation): no stale mask", () => {
    scope(() => {
      const d = new Dropout({ p: 0.5, seed: 2 });
      const x = tensor(nonzero(6, 64), [64], fixed), dy = tensor(randomData(7, 64), [64], fixed);
      d.forward(x);
      d.eval();
      d.forward(x);
      d.train();
      expect(d.backward(dy).toFloat32Array()).toEqual(dy.toFloat32Array());
      d.dispose();
    });
  });

  it("bad options are ConvErrors naming Dropout and the option", () => {
    for (const [options, argument] of [[{ p: 1.5 }, "options.p"], [{ p: NaN }, "options.p"], [{ seed: 0.5 }, "options.seed"], [{ q: 1 }, "options.q"]] as const) {
      try {
        new Dropout(options as never);
        throw new Error("no error");
      } catch (e) {
        expect(e).toBeInstanceOf(ConvError);
        expect((e as ConvError).argument).toBe(argument);
        expect((e as ConvError).message).toMatch(/^Dropout/);
      }
    }
    expect(() => new Dropout({ p: 2 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
  });
});
