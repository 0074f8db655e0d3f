// Property test: convTranspose2d's y, dx, dw and db against the float64 reference on ≥ 1,000 random configurations per run and build.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import {
  tensor, scope, convTranspose2d, convTranspose2dBackward, convTranspose2dOutputShape, type ConvTranspose2dOptions, type Runtime,
} from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { firstMismatch } from "../reference/conv2d.js";
import { referenceConvTranspose2d, type TransposedConfig } from "../reference/conv-transpose2d.js";
import { randomData, product } from "../helpers/setup.js";

interface Case extends TransposedConfig {
  /** How the pads are given: a number (all equal), [h, w], or per side. */
  padForm: "number" | "pair" | "sides";
  bias: boolean;
  seed: number;
}

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    N: fc.integer({ min: 1, max: 3 }), Cin: fc.integer({ min: 1, max: 8 }), Cout: fc.integer({ min: 1, max: 8 }), groupsSeed: fc.nat(),
    H: fc.integer({ min: 1, max: 8 }), W: fc.integer({ min: 1, max: 8 }),
    KH: fc.integer({ min: 1, max: 4 }), KW: fc.integer({ min: 1, max: 4 }),
    strideH: fc.integer({ min: 1, max: 4 }), strideW: fc.integer({ min: 1, max: 4 }),
    dilationH: fc.integer({ min: 1, max: 3 }), dilationW: fc.integer({ min: 1, max: 3 }),
    pads: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
    padForm: fc.constantFrom("number" as const, "pair" as const, "sides" as const),
    outputPadSeed: fc.tuple(fc.nat(), fc.nat()),
    depthwise: fc.boolean(),
    bias: fc.boolean(),
    seed: fc.nat(),
  })
  .map(({ groupsSeed, pads, padForm, outputPadSeed, depthwise, ...c }): Case => {
    // A quarter of the cases depthwise-like (one input channel per group), the rest any common divisor.
    const common = divisors(c.Cin).filter((d) => c.Cout % d === 0);
    const groups = depthwise && c.Cout % c.Cin === 0 ? c.Cin : common[groupsSeed % common.length]!;
    const [t, b, l, r] = padForm === "number" ? [pads[0], pads[0], pads[0], pads[0]]
      : padForm === "pair" ? [pads[0], pads[0], pads[1], pads[1]] : pads;
    // outputPadding below max(stride, dilation) on each axis: at or past the stride where the dilation allows.
    const outputPadH = outputPadSeed[0] % Math.max(c.strideH, c.dilationH), outputPadW = outputPadSeed[1] % Math.max(c.strideW, c.dilationW);
    return { ...c, groups, padTop: t, padBottom: b, padLeft: l, padRight: r, padForm, outputPadH, outputPadW };
  })
  .filter((c) => outSize(c)[0] >= 1 && outSize(c)[1] >= 1);

function outSize(c: TransposedConfig): [number, number] {
  return [
    (c.H - 1) * c.strideH - c.padTop - c.padBottom + c.dilationH * (c.KH - 1) + c.outputPadH + 1,
    (c.W - 1) * c.strideW - c.padLeft - c.padRight + c.dilationW * (c.KW - 1) + c.outputPadW + 1,
  ];
}

function options(c: Case): ConvTranspose2dOptions {
  const pad = c.padForm === "number" ? c.padTop : c.padForm === "pair" ? [c.padTop, c.padLeft] as [number, number]
    : { top: c.padTop, bottom: c.padBottom, left: c.padLeft, right: c.padRight };
  return { stride: [c.strideH, c.strideW], dilation: [c.dilationH, c.dilationW], groups: c.groups, pad, outputPadding: [c.outputPadH, c.outputPadW] };
}

/** null when y, dx, dw and db all agree with the reference (tolerance: closeEnough, explained in test/reference/conv2d.ts). */
function check(runtime: Runtime, c: Case): string | null {
  const xShape = [c.N, c.Cin, c.H, c.W], wShape = [c.Cin, c.Cout / c.groups, c.KH, c.KW];
  const xData = randomData(c.seed, product(xShape)), wData = randomData(c.seed + 1, product(wShape));
  const bData = c.bias ? randomData(c.seed + 2, c.Cout) : null;
  const [Ho, Wo] = outSize(c);
  const dyData = randomData(c.seed + 3, c.N * c.Cout * Ho * Wo);
  const expected = referenceConvTranspose2d(c, xData, wData, bData, dyData);
  return scope(() => {
    const x = tensor(xData, xShape, runtime), w = tensor(wData, wShape, runtime);
    const b = bData ? tensor(bData, [c.Cout], runtime) : null;
    const shape = convTranspose2dOutputShape(xShape, wShape, options(c));
    if (shape.join() !== [c.N, c.Cout, Ho, Wo].join()) return `output shape ${shape} ≠ ${[c.N, c.Cout, Ho, Wo]}`;
    const y = convTranspose2d(x, w, b, options(c));
    const g = convTranspose2dBackward(tensor(dyData, y.shape, runtime), x, w, options(c));
    for (const [name, got, want] of [["y", y, expected.out], ["dx", g.dx, expected.dx], ["dw", g.dw, expected.dw], ["db", g.db, expected.db]] as const) {
      const problem = firstMismatch(got.toFloat32Array(), want);
      if (problem) return `${name}: ${problem}`;
    }
    return null;
  });
}

describe.each(BUILDS)("convTranspose2d against the float64 reference (%s build)", (build) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await initBuild(build);
  });

  it("agrees on y, dx, dw and db for 1,200 random configurations (strides 1–4, asymmetric pads, outputPadding, dilation 1–3, groups, depthwise)", () => {
    // fast-check prints the seed and the shrunk case of a failure; FC_SEED=<seed> replays it.
    const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
    fc.assert(fc.property(caseArbitrary, (c) => {
      const problem = check(runtime, c);
      if (problem) throw new Error(`${problem} in ${JSON.stringify(c)}`);
    }), { numRuns: 1200, seed });
  });

  it("agrees where outputPadding reaches the stride (a dilation above it), and on layers of decoder size", () => {
    const base = { N: 2, Cin: 4, H: 5, W: 6, Cout: 6, KH: 3, KW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 2,
      padForm: "sides" as const, bias: true, seed: 5 };
    // s = 1, d = 3: outputPadding 2 ≥ s, the conv's output two rows and columns taller than x.
    expect(check(runtime, { ...base, strideH: 1, strideW: 1, dilationH: 3, dilationW: 3, outputPadH: 2, outputPadW: 1 })).toBeNull();
    // s = 2, d = 3, outputPadding 2 on one axis.
    expect(check(runtime, { ...base, strideH: 2, strideW: 2, dilationH: 3, dilationW: 1, outputPadH: 2, outputPadW: 1 })).toBeNull();
    // A decoder's upsampling: 16 → 8 channels, 7×7 → 14×14 (stride 2, pad 1, outputPadding 1), and a 4×4 kernel 2× upsample.
    const decoder = { N: 3, Cin: 16, H: 7, W: 7, Cout: 8, KH: 3, KW: 3, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1,
      padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, outputPadH: 1, outputPadW: 1, groups: 1, padForm: "number" as const, bias: true, seed: 9 };
    expect(check(runtime, decoder)).toBeNull();
    expect(check(runtime, { ...decoder, KH: 4, KW: 4, outputPadH: 0, outputPadW: 0, H: 14, W: 14, Cin: 8, Cout: 4 })).toBeNull();
  });
});
