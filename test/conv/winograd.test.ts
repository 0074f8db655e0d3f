// Winograd F(2×2, 3×3) (algorithm "winograd", and "auto" where it picks it): out and dx against the float64 reference, its error at scale, its non-finite values.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { tensor, conv2d, conv2dBackward, scope, ConvError, type PadSides, type Runtime } from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { referenceConv2d, firstMismatch, type ReferenceConfig } from "../reference/conv2d.js";
import { randomData, product } from "../helpers/setup.js";
import { rng } from "../helpers/seeded.js";

interface Case {
  N: number; C: number; H: number; W: number; F: number;
  pads: [number, number, number, number];
  /** [height, width]; 1 when absent. Dilated layers run over their input's phases. */
  dilation?: [number, number];
  bias: boolean;
  seed: number;
}

const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  C: fc.integer({ min: 1, max: 20 }),
  F: fc.integer({ min: 1, max: 20 }),
  H: fc.integer({ min: 1, max: 21 }),
  W: fc.integer({ min: 1, max: 21 }),
  // Pads up to 3: dx takes Winograd up to 2 per side (the full correlation), the scatter past that.
  pads: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
  // A quarter of the cases dilated (1–3 per axis): the phases path.
  dilation: fc.oneof({ weight: 3, arbitrary: fc.constant<[number, number]>([1, 1]) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })) }),
  bias: fc.boolean(),
  seed: fc.nat(),
}).filter((c) => c.H + c.pads[0] + c.pads[1] >= 2 * c.dilation[0] + 1 && c.W + c.pads[2] + c.pads[3] >= 2 * c.dilation[1] + 1);

function config(c: Case): ReferenceConfig {
  return {
    N: c.N, C: c.C, H: c.H, W: c.W, F: c.F, KH: 3, KW: 3, strideH: 1, strideW: 1,
    padTop: c.pads[0], padBottom: c.pads[1], padLeft: c.pads[2], padRight: c.pads[3],
    dilationH: c.dilation?.[0] ?? 1, dilationW: c.dilation?.[1] ?? 1, groups: 1,
  };
}

const sides = (p: Case["pads"]): PadSides => ({ top: p[0], bottom: p[1], left: p[2], right: p[3] });

/** out, dx, dw and db of one case on the given algorithm against the float64 reference: the first disagreement, or null. */
function check(c: Case, algorithm: "winograd" | "auto"): string | null {
  const xShape = [c.N, c.C, c.H, c.W], wShape = [c.F, c.C, 3, 3];
  const xData = randomData(c.seed, product(xShape)), wData = randomData(c.seed + 1, product(wShape));
  const bData = c.bias ? randomData(c.seed + 2, c.F) : null;
  const options = { pad: sides(c.pads), algorithm, dilation: c.dilation ?? 1 };
  return scope(() => {
    const x = tensor(xData, xShape), w = tensor(wData, wShape), b = bData ? tensor(bData, [c.F]) : null;
    const out = conv2d(x, w, b, options);
    const dyData = randomData(c.seed + 3, out.size);
    const expected = referenceConv2d(config(c), xData, wData, bData, dyData);
    const { dx, dw, db } = conv2dBackward(tensor(dyData, out.shape), x, w, options);
    for (const [name, actual, wanted] of [["out", out, expected.out], ["dx", dx, expected.dx], ["dw", dw, expected.dw], ["db", db, expected.db]] as const) {
      const problem = firstMismatch(actual.toFloat32Array(), wanted);
      if (problem) return `${name}: ${problem}`;
    }
    return null;
  });
}

describe.each(BUILDS)("Winograd F(2×2, 3×3) against the float64 reference (%s build)", (build) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await initBuild(build);
    expect(runtime.simd).toBe(build);
  });

  it("agrees on out, dx, dw and db for 400 random 3×3 stride-1 configurations forced onto it", () => {
    const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
    fc.assert(fc.property(caseArbitrary, (c) => {
      const problem = check(c, "winograd");
      if (problem) throw new Error(`${problem} in ${JSON.stringify(c)}`);
    }), { numRuns: 400, seed });
  });

  it("agrees where the tiles cross every edge: odd sizes, four whole tiles side by side, blocks of 32 tiles, many tasks", () => {
    const cases: Case[] = [
      { N: 1, C: 3, H: 9, W: 17, F: 5, pads: [1, 1, 1, 1], bias: true, seed: 1 }, // odd Ho and Wo: half tiles at the bottom and right
      { N: 2, C: 4, H: 16, W: 16, F: 8, pads: [1, 1, 1, 1], bias: true, seed: 2 }, // 8 tiles a row: four whole ones side by side, twice
      { N: 1, C: 5, H: 40, W: 38, F: 13, pads: [0, 2, 2, 0], bias: false, seed: 3 }, // 20 × 19 tiles: blocks of 32 spanning rows
      { N: 3, C: 17, H: 14, W: 14, F: 19, pads: [1, 1, 1, 1], bias: true, seed: 4 }, // images of 49 tiles: tasks end mid-image
      { N: 1, C: 1, H: 3, W: 3, F: 1, pads: [0, 0, 0, 0], bias: true, seed: 5 }, // one output pixel
      { N: 1, C: 2, H: 2, W: 30, F: 3, pads: [2, 2, 0, 1], bias: false, seed: 6 }, // Wo 30, a 2-row image: every tile at an edge
      { N: 2, C: 6, H: 17, W: 16, F: 5, pads: [2, 2, 2, 2], dilation: [2, 2], bias: true, seed: 7 }, // phases of 9 and 8 rows
      { N: 1, C: 3, H: 11, W: 13, F: 4, pads: [3, 1, 0, 2], dilation: [3, 2], bias: true, seed: 8 }, // uneven phases, uneven pads
      { N: 1, C: 2, H: 5, W: 9, F: 2, pads: [0, 0, 0, 0], dilation: [2, 4], bias: false, seed: 9 }, // Ho 1 < dh: empty phases
    ];
    for (const c of cases) expect(check(c, "winograd"), JSON.stringify(c)).toBeNull();
  });

  it("is what auto picks for 16 channels in and out, and agrees there too (forward and dx)", () => {
    expect(check({ N: 2, C: 16, H: 12, W: 13, F: 24, pads: [1, 1, 1, 1], bias: true, seed: 8 }, "auto")).toBeNull();
    expect(check({ N: 1, C: 16, H: 14, W: 15, F: 16, pads: [2, 2, 2, 2], dilation: [2, 2], bias: true, seed: 10 }, "auto")).toBeNull();
    expect(check({ N: 1, C: 24, H: 10, W: 10, F: 16, pads: [2, 0, 1, 2], bias: false, seed: 9 }, "auto")).toBeNull();
  });

  it("stays within 2·10⁻⁵ of the output's RMS at realistic scale (He-initialised weights, ReLU inputs, 16 to 256 channels)", () => {
    const random = rng(11);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    for (const [C, S] of [[16, 20], [64, 14], [256, 7]] as const) {
      const x = Float32Array.from({ length: C * S * S }, () => Math.max(normal(), 0));
      const w = Float32Array.from({ length: C * C * 9 }, () => normal() * Math.sqrt(2 / (9 * C)));
      const dyData = Float32Array.from({ length: C * S * S }, normal);
      const reference = referenceConv2d(config({ N: 1, C, H: S, W: S, F: C, pads: [1, 1, 1, 1], bias: false, seed: 0 }), x, w, null, dyData);
      scope(() => {
        const xt = tensor(x, [1, C, S, S]), wt = tensor(w, [C, C, 3, 3]);
        const out = conv2d(xt, wt, null, { pad: 1, algorithm: "winograd" }).toFloat32Array();
        const dx = conv2dBackward(tensor(dyData, [1, C, S, S]), xt, wt, { pad: 1, algorithm: "winograd" }, { dx: true }).dx.toFloat32Array();
        for (const [name, actual, expected] of [["out", out, reference.out], ["dx", dx, reference.dx]] as const) {
          let worst = 0, squares = 0;
          for (let i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
            squares += expected[i]! ** 2;
          }
          expect(worst / Math.sqrt(squares / expected.length), `${name}, C = ${C}`).toBeLessThan(2e-5);
        }
      });
    }
  });

  it("sends a NaN to exactly the outputs it touches, and ±∞ too (as ±∞ or NaN: the transforms subtract)", () => {
    const c: Case = { N: 1, C: 3, H: 10, W: 11, F: 4, pads: [1, 1, 1, 1], bias: false, seed: 20 };
    for (const value of [NaN, Infinity, -Infinity]) {
      const xData = randomData(21, 3 * 10 * 11), wData = randomData(22, 4 * 3 * 9), dyData = randomData(23, 4 * 10 * 11);
      xData[1 * 110 + 4 * 11 + 5] = value; // channel 1, row 4, column 5: tiles around it
      dyData[2 * 110 + 6 * 11 + 3] = value;
      const expected = referenceConv2d(config(c), xData, wData, null, dyData);
      scope(() => {
        const x = tensor(xData, [1, 3, 10, 11]), w = tensor(wData, [4, 3, 3, 3]);
        const out = conv2d(x, w, null, { pad: 1, algorithm: "winograd" }).toFloat32Array();
        const dx = conv2dBackward(tensor(dyData, [1, 4, 10, 11]), x, w, { pad: 1, algorithm: "winograd" }, { dx: true }).dx.toFloat32Array();
        for (const [name, actual, wanted] of [["out", out, expected.out], ["dx", dx, expected.dx]] as const) {
          let reached = 0;
          for (let i = 0; i < wanted.length; i++) {
            const finite = Number.isFinite(wanted[i]!);
            expect(Number.isFinite(actual[i]!), `${name}[${i}] with ${value}`).toBe(finite);
            if (Number.isNaN(wanted[i]!)) expect(actual[i], `${name}[${i}]`).toBeNaN();
            if (finite) expect(firstMismatch([actual[i]!], [wanted[i]!]), `${name}[${i}]`).toBeNull();
            else reached++;
          }
          expect(reached, `${name} with ${value}`).toBeGreaterThan(0);
        }
      });
    }
  });
});

describe("the algorithm option", () => {
  it("is checked: a name it does not know, or Winograd where F(2×2, 3×3) does not apply, is a ConvError naming it", async () => {
    await initBuild("fixed");
    scope(() => {
      const x = tensor(new Float32Array(2 * 4 * 6 * 6), [2, 4, 6, 6]);
      const w5 = tensor(new Float32Array(3 * 4 * 25), [3, 4, 5, 5]), w3 = tensor(new Float32Array(3 * 4 * 9), [3, 4, 3, 3]);
      const fails = (run: () => unknown, pattern: RegExp) => {
        let error: unknown;
        try { run(); } catch (e) { error = e; }
        expect(error).toBeInstanceOf(ConvError);
        expect((error as ConvError).code).toBe("ERR_INVALID_OPTION");
        expect((error as ConvError).message).toMatch(pattern);
      };
      fails(() => conv2d(x, w3, null, { algorithm: "fft" as never }), /conv2d.*options\.algorithm.*"auto", "gemm" or "winograd".*"fft"/s);
      fails(() => conv2d(x, w5, null, { algorithm: "winograd" }), /options\.algorithm.*3×3.*kernel 5×5/s);
      fails(() => conv2d(x, w3, null, { algorithm: "winograd", stride: 2 }), /options\.algorithm.*stride 2×2/s);
      fails(() => conv2dBackward(tensor(new Float32Array(2 * 4 * 4 * 4), [2, 4, 4, 4]), x, tensor(new Float32Array(4 * 2 * 9), [4, 2, 3, 3]), { algorithm: "winograd", groups: 2 }), /conv2dBackward.*options\.algorithm.*groups 2/s);
      // The GEMM forced where auto would take Winograd still computes the same convolution.
      expect(conv2d(x, w3, null, { algorithm: "gemm" }).shape).toEqual([2, 3, 4, 4]);
    });
  });
});
