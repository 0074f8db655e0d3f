// NaN and ±Infinity in the data propagate as IEEE arithmetic does (as in PyTorch): no exception, same pattern as the reference.

import { describe, it, expect, beforeAll } from "vitest";
import { tensor, conv2d, conv2dBackward, type Runtime } from "../../js/index.js";
import { BUILDS, initBuild, type Build } from "../helpers/builds.js";
import { referenceConv2d, firstMismatch, type ReferenceConfig } from "../reference/conv2d.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;

const cfg: ReferenceConfig = {
  N: 2, C: 4, H: 9, W: 11, F: 6, KH: 3, KW: 3, strideH: 2, strideW: 1,
  padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 2, groups: 2,
};
const options = { stride: [2, 1] as [number, number], pad: 1, dilation: [1, 2] as [number, number], groups: 2 };

function run(xData: Float32Array, wData: Float32Array, dyData: Float32Array) {
  const x = tensor(xData, [2, 4, 9, 11], runtime);
  const w = tensor(wData, [6, 2, 3, 3], runtime);
  const out = conv2d(x, w, null, options);
  const dy = tensor(dyData, out.shape, runtime);
  const grads = conv2dBackward(dy, x, w, options);
  const result = {
    out: out.toFloat32Array(), dx: grads.dx!.toFloat32Array(), dw: grads.dw!.toFloat32Array(), db: grads.db!.toFloat32Array(),
  };
  for (const t of [x, w, out, dy, grads.dx!, grads.dw!, grads.db!]) t.dispose();
  return result;
}

describe.each(BUILDS)("non-finite values (%s build)", (build: Build) => {
  beforeAll(async () => {
    runtime = await initBuild(build);
  });
  const outSize = 2 * 6 * 5 * 9; // Ho = ⌊(9 + 2 − 3) / 2⌋ + 1, Wo = 11 + 2 − 5 + 1
  for (const [name, value] of [["NaN", NaN], ["+Infinity", Infinity], ["-Infinity", -Infinity]] as const) {
    it(`a ${name} in x reaches exactly the outputs and weight gradients it touches`, () => {
      const xData = randomData(40, 2 * 4 * 9 * 11);
      xData[1 * 4 * 99 + 2 * 99 + 4 * 11 + 5] = value; // image 1, channel 2, row 4, column 5
      const wData = randomData(41, 6 * 2 * 9);
      const dyData = randomData(42, outSize);
      const actual = run(xData, wData, dyData);
      const expected = referenceConv2d(cfg, xData, wData, null, dyData);
      for (const key of ["out", "dx", "dw", "db"] as const) {
        expect(firstMismatch(actual[key], expected[key]), key).toBeNull();
      }
      // And the non-finite values really are there (the reference agrees; this guards the test itself).
      expect(actual.out.some((v) => !Number.isFinite(v))).toBe(true);
      expect(actual.out.some((v) => Number.isFinite(v))).toBe(true);
      expect(actual.dw.some((v) => !Number.isFinite(v))).toBe(true);
    });
  }

  it("a NaN in dy reaches dx, dw and db but not out", () => {
    const xData = randomData(43, 2 * 4 * 9 * 11);
    const wData = randomData(44, 6 * 2 * 9);
    const dyData = randomData(45, outSize);
    dyData[37] = NaN;
    const actual = run(xData, wData, dyData);
    const expected = referenceConv2d(cfg, xData, wData, null, dyData);
    for (const key of ["out", "dx", "dw", "db"] as const) {
      expect(firstMismatch(actual[key], expected[key]), key).toBeNull();
    }
    expect(actual.out.every(Number.isFinite)).toBe(true);
    expect(actual.db.some(Number.isNaN)).toBe(true);
  });

  it("an Infinity in w meets the padding zeros as IEEE says (0·∞ = NaN), exactly like the padded-input reference", () => {
    const xData = randomData(46, 2 * 4 * 9 * 11);
    const wData = randomData(47, 6 * 2 * 9);
    wData[4 * 18 + 9] = Infinity; // filter 4, its second channel, top-left tap
    const dyData = randomData(48, outSize);
    const actual = run(xData, wData, dyData);
    const expected = referenceConv2d(cfg, xData, wData, null, dyData);
    for (const key of ["out", "dx", "dw", "db"] as const) {
      expect(firstMismatch(actual[key], expected[key]), key).toBeNull();
    }
    expect(actual.out.some(Number.isNaN)).toBe(true); // the padded border
    expect(actual.out.some((v) => v === Infinity || v === -Infinity)).toBe(true); // the interior
  });

  it("stride 1, 3×3 and 1×1: an Infinity in w gives dx the reference's pattern (the check before the full correlation)", () => {
    for (const K of [3, 1]) {
      const scfg: ReferenceConfig = {
        N: 1, C: 8, H: 6, W: 7, F: 4, KH: K, KW: K, strideH: 1, strideW: 1,
        padTop: K >> 1, padBottom: K >> 1, padLeft: K >> 1, padRight: K >> 1, dilationH: 1, dilationW: 1, groups: 1,
      };
      const xd = randomData(53, 8 * 6 * 7);
      const wd = randomData(54, 4 * 8 * K * K);
      wd[2 * 8 * K * K + 5 * K * K] = Infinity; // filter 2, channel 5, top-left tap
      const x = tensor(xd, [1, 8, 6, 7], runtime);
      const w = tensor(wd, [4, 8, K, K], runtime);
      const dyData = randomData(55, 4 * 6 * 7);
      const dy = tensor(dyData, [1, 4, 6, 7], runtime);
      const grads = conv2dBackward(dy, x, w, { pad: K >> 1 });
      const expected = referenceConv2d(scfg, xd, wd, null, dyData);
      expect(firstMismatch(grads.dx!.toFloat32Array(), expected.dx), `dx, ${K}×${K}`).toBeNull();
      expect(grads.dx!.toFloat32Array().some((v) => v === Infinity || v === -Infinity), `${K}×${K}`).toBe(true);
      for (const t of [x, w, dy, grads.dx!, grads.dw!, grads.db!]) t.dispose();
    }
  });

  it("depthwise: an Infinity in w or x gives the reference's pattern (the full correlation is not taken)", () => {
    const dcfg: ReferenceConfig = { ...cfg, C: 4, F: 8, groups: 4, strideH: 1, strideW: 1, dilationH: 2, dilationW: 1 };
    const dOptions = { pad: 1, dilation: [2, 1] as [number, number], groups: 4 };
    const xData = randomData(50, 2 * 4 * 9 * 11);
    const wData = randomData(51, 8 * 9);
    for (const [where, index] of [["w", 3 * 9 + 4], ["x", 200]] as const) {
      const wd = wData.slice(), xd = xData.slice();
      (where === "w" ? wd : xd)[index] = Infinity;
      const x = tensor(xd, [2, 4, 9, 11], runtime);
      const w = tensor(wd, [8, 1, 3, 3], runtime);
      const out = conv2d(x, w, null, dOptions);
      const dyData = randomData(52, out.size);
      const dy = tensor(dyData, out.shape, runtime);
      const grads = conv2dBackward(dy, x, w, dOptions);
      const expected = referenceConv2d(dcfg, xd, wd, null, dyData);
      expect(firstMismatch(out.toFloat32Array(), expected.out), `out, Infinity in ${where}`).toBeNull();
      expect(firstMismatch(grads.dx!.toFloat32Array(), expected.dx), `dx, Infinity in ${where}`).toBeNull();
      expect(firstMismatch(grads.dw!.toFloat32Array(), expected.dw), `dw, Infinity in ${where}`).toBeNull();
      expect(grads.dx!.toFloat32Array().some((v) => !Number.isFinite(v))).toBe(where === "w");
      for (const t of [x, w, out, dy, grads.dx!, grads.dw!, grads.db!]) t.dispose();
    }
  });
});
