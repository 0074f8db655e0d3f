// Property test: out, dx, dw and db against the float64 reference on ≥ 2,000 random configurations per run (300 more on the shuffle-broadcast micro-kernel), and the two forms' bits alike.

import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { readFile } from "node:fs/promises";
import { init, tensor, conv2d, conv2dBackward, scope, type Conv2dOptions, type Runtime } from "../../js/index.js";
import { BUILDS, createBuild, initBuild, useBroadcast, type Broadcast } from "../helpers/builds.js";
import { LAYERS, inputShape, layerOptions, weightShape } from "../../bench/lib/layers.js";
import { referenceConv2d, firstMismatch, samePadding, type ReferenceConfig } from "../reference/conv2d.js";
import { randomData, product } from "../helpers/setup.js";

/** A configuration as the API takes it, plus the explicit pads the reference needs. */
interface Case {
  N: number; C: number; H: number; W: number; F: number; KH: number; KW: number;
  strideH: number; strideW: number; dilationH: number; dilationW: number; groups: number;
  pad: Conv2dOptions["pad"];
  bias: boolean;
  seed: number;
  /** "gemm" (auto picks it for these channel counts, C, F ≤ 9) unless set. */
  algorithm?: "winograd";
}

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

const padArbitrary: fc.Arbitrary<Conv2dOptions["pad"]> = fc.oneof(
  fc.integer({ min: 0, max: 3 }),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
  fc.record({
    top: fc.integer({ min: 0, max: 3 }), bottom: fc.integer({ min: 0, max: 3 }),
    left: fc.integer({ min: 0, max: 3 }), right: fc.integer({ min: 0, max: 3 }),
  }),
  fc.constant("same" as const),
  fc.constant("valid" as const),
);

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    N: fc.integer({ min: 1, max: 3 }),
    groupsSeed: fc.nat(),
    Cg: fc.integer({ min: 1, max: 9 }),
    Fg: fc.integer({ min: 1, max: 9 }),
    H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
    KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }),
    strideH: fc.integer({ min: 1, max: 4 }), strideW: fc.integer({ min: 1, max: 4 }),
    dilationH: fc.integer({ min: 1, max: 3 }), dilationW: fc.integer({ min: 1, max: 3 }),
    pad: padArbitrary,
    bias: fc.boolean(),
    seed: fc.nat(),
  })
  .map(({ groupsSeed, Cg, Fg, ...rest }) => {
    // groups divides both C and F, with C and F in 1–9: pick C and F from (Cg, Fg) and a common divisor.
    const C = Cg, F = Fg;
    const common = divisors(C).filter((d) => F % d === 0);
    const groups = common[groupsSeed % common.length]!;
    return { ...rest, C, F, groups };
  })
  .filter((c) => referencePads(c) !== null);

/**
 * caseArbitrary with a third of the cases made 3×3, stride 1, one group on algorithm "winograd", so
 * that the Winograd paths' GEMMs run on a form too (the channel counts here are below auto's choice).
 */
const withWinograd: fc.Arbitrary<Case> = fc
  .tuple(caseArbitrary, fc.integer({ min: 0, max: 2 }))
  .map(([c, k]) => (k === 0 ? { ...c, KH: 3, KW: 3, strideH: 1, strideW: 1, groups: 1, algorithm: "winograd" as const } : c))
  .filter((c) => referencePads(c) !== null);

function referencePads(c: Omit<Case, "pad"> & { pad: Case["pad"] }): ReferenceConfig | null {
  let pads: [number, number, number, number];
  const p = c.pad;
  if (p === "same") pads = [...samePadding(c.H, c.strideH, c.KH, c.dilationH), ...samePadding(c.W, c.strideW, c.KW, c.dilationW)];
  else if (p === "valid" || p === undefined) pads = [0, 0, 0, 0];
  else if (typeof p === "number") pads = [p, p, p, p];
  else if (Array.isArray(p)) pads = [p[0], p[0], p[1], p[1]];
  else { const s = p as { top: number; bottom: number; left: number; right: number }; pads = [s.top, s.bottom, s.left, s.right]; }
  const cfg: ReferenceConfig = {
    N: c.N, C: c.C, H: c.H, W: c.W, F: c.F, KH: c.KH, KW: c.KW, strideH: c.strideH, strideW: c.strideW,
    padTop: pads[0], padBottom: pads[1], padLeft: pads[2], padRight: pads[3],
    dilationH: c.dilationH, dilationW: c.dilationW, groups: c.groups,
  };
  const fitsH = c.H + pads[0] + pads[1] >= c.dilationH * (c.KH - 1) + 1;
  const fitsW = c.W + pads[2] + pads[3] >= c.dilationW * (c.KW - 1) + 1;
  return fitsH && fitsW ? cfg : null;
}

/** Runs one case through the wasm kernels and the reference; returns the first disagreement, or null. */
function check(runtime: Runtime, c: Case): string | null {
  const ref = referencePads(c)!;
  const xShape = [c.N, c.C, c.H, c.W];
  const wShape = [c.F, c.C / c.groups, c.KH, c.KW];
  const xData = randomData(c.seed, product(xShape));
  const wData = randomData(c.seed + 1, product(wShape));
  const bData = c.bias ? randomData(c.seed + 2, c.F) : null;
  const options: Conv2dOptions = {
    stride: [c.strideH, c.strideW], dilation: [c.dilationH, c.dilationW], groups: c.groups, pad: c.pad,
    ...(c.algorithm ? { algorithm: c.algorithm } : {}),
  };
  return scope(() => {
    const x = tensor(xData, xShape, runtime);
    const w = tensor(wData, wShape, runtime);
    const b = bData ? tensor(bData, [c.F], runtime) : null;
    const out = conv2d(x, w, b, options);
    const dyData = randomData(c.seed + 3, out.size);
    const expected = referenceConv2d(ref, xData, wData, bData, dyData);
    const shapeOk = out.shape.join() === [c.N, c.F, expected.outHeight, expected.outWidth].join();
    if (!shapeOk) return `output shape ${out.shape} ≠ reference ${[c.N, c.F, expected.outHeight, expected.outWidth]}`;
    const dy = tensor(dyData, out.shape, runtime);
    const { dx, dw, db } = conv2dBackward(dy, x, w, options);
    for (const [name, actual, wanted] of [
      ["out", out, expected.out], ["dx", dx!, expected.dx], ["dw", dw!, expected.dw], ["db", db!, expected.db],
    ] as const) {
      const problem = firstMismatch(actual.toFloat32Array(), wanted);
      if (problem) return `${name}: ${problem}`;
    }
    return null;
  });
}

function runProperty(runtime: Runtime, numRuns: number, cases: fc.Arbitrary<Case> = caseArbitrary): void {
  // fast-check draws a fresh seed each run and prints it (with the shrunk counterexample) on failure;
  // FC_SEED=<seed> replays one.
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
  fc.assert(
    fc.property(cases, (c) => {
      const problem = check(runtime, c);
      if (problem) throw new Error(`${problem} in ${JSON.stringify(c)}`);
    }),
    { numRuns, seed },
  );
}

/**
 * Random configurations per form: every kernel path on the load form; on the shuffle form, which only
 * changes how the micro-kernel broadcasts A (forward GEMM, dx full and scatter, Winograd), fewer.
 */
const RUNS: Record<Broadcast, number> = { load: 2000, shuffle: 300 };

describe.each(BUILDS.flatMap((build) => (["load", "shuffle"] as const).map((form) => [build, form] as const)))(
  "conv2d against the float64 reference (%s build, %s-broadcast micro-kernel)", (build, form) => {
  let runtime: Runtime;
  beforeAll(async () => {
    // The load form on init()'s runtime (Node's own form); the shuffle form on a runtime of its own.
    runtime = form === "load" ? useBroadcast(await initBuild(build), "load") : await createBuild(build, "shuffle");
    expect(runtime.simd).toBe(build);
  });

  it(`agrees on out, dx, dw and db for ${RUNS[form].toLocaleString("en")} random configurations`, () => {
    runProperty(runtime, RUNS[form], form === "shuffle" ? withWinograd : caseArbitrary);
  });

  it("exercises every kernel path: pointwise (1×1, stride 1, no pad), row panels, wrapped panels, stride 2, direct windows", () => {
    const base = { N: 2, C: 4, H: 5, W: 6, F: 6, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, bias: true, seed: 7 };
    expect(check(runtime, { ...base, KH: 1, KW: 1, groups: 2, pad: 0 })).toBeNull();
    expect(check(runtime, { ...base, KH: 1, KW: 1, groups: 1, pad: 1 })).toBeNull();
    expect(check(runtime, { ...base, KH: 3, KW: 2, groups: 1, pad: "same" })).toBeNull();
    // Rows of 20 outputs: whole 8-pixel panels inside one row (the fast gather) and panels that wrap.
    expect(check(runtime, { ...base, H: 6, W: 22, KH: 3, KW: 3, pad: 0 , groups: 1 })).toBeNull();
    expect(check(runtime, { ...base, H: 6, W: 44, KH: 3, KW: 3, pad: 1, strideW: 2, strideH: 2, groups: 2 })).toBeNull();
    expect(check(runtime, { ...base, H: 6, W: 40, KH: 3, KW: 3, pad: 2, dilationW: 2, groups: 1 })).toBeNull();
    // dx: the stride-1 full correlation (padding within the kernel's span) and the scatter (wider padding, strides).
    expect(check(runtime, { ...base, KH: 3, KW: 3, pad: { top: 3, bottom: 0, left: 1, right: 1 }, groups: 1 })).toBeNull();
    // The scatter in waves (dx over 256 KiB): five images, two per wave, the last wave one image.
    expect(check(runtime, { ...base, N: 5, C: 8, H: 50, W: 50, F: 4, KH: 3, KW: 3, pad: 1, strideH: 2, strideW: 2, groups: 1 })).toBeNull();
    // Forward bands of several rows (a band-high padded buffer), stride 2 and dilation: 3 images, 21×30 outputs.
    expect(check(runtime, { ...base, N: 3, C: 5, H: 44, W: 62, F: 7, KH: 3, KW: 3, pad: 2, strideH: 2, strideW: 2, dilationH: 2, groups: 1 })).toBeNull();
    // Direct sliding windows (≤ 16 filters in the forward form, stride 1 along rows of ≥ 8 outputs):
    // rows of 13 (a last tile overlapping the one before), of exactly 8, a part-filled filter panel,
    // dilated and grouped, every other row (stride 2 down; its dx scatters); dx the same kernel over dy.
    expect(check(runtime, { ...base, H: 7, W: 13, KH: 3, KW: 5, pad: "same", groups: 1 })).toBeNull();
    expect(check(runtime, { ...base, H: 5, W: 8, KH: 3, KW: 3, pad: 1, groups: 1 })).toBeNull();
    expect(check(runtime, { ...base, F: 10, H: 6, W: 12, KH: 3, KW: 3, pad: 2, dilationW: 2, groups: 2 })).toBeNull();
    expect(check(runtime, { ...base, H: 9, W: 9, KH: 3, KW: 3, pad: 1, strideH: 2, groups: 1 })).toBeNull();
    // dw sweeps rows of ≥ 16 outputs: whole vectors only, and rows ending in a masked 1-, 2- or 3-pixel vector.
    expect(check(runtime, { ...base, H: 4, W: 16, KH: 3, KW: 3, pad: 1, groups: 1 })).toBeNull();
    expect(check(runtime, { ...base, F: 7, H: 5, W: 19, KH: 2, KW: 3, pad: [0, 1], strideH: 2, groups: 1 })).toBeNull();
    expect(check(runtime, { ...base, H: 4, W: 18, KH: 3, KW: 3, pad: 2, dilationW: 2, dilationH: 2, groups: 2 })).toBeNull();
    expect(check(runtime, { ...base, C: 9, H: 3, W: 21, KH: 3, KW: 5, pad: "same", groups: 1 })).toBeNull();
    // Depthwise (one input channel per group): stride 1 sweeps dx, stride 2 and wide padding scatter it.
    const depthwise = { ...base, C: 4, F: 8, groups: 4, KH: 3, KW: 3, H: 9, W: 19 };
    expect(check(runtime, { ...depthwise, pad: 1 })).toBeNull();
    expect(check(runtime, { ...depthwise, pad: 1, strideH: 2, strideW: 2 })).toBeNull();
    expect(check(runtime, { ...depthwise, pad: 3, strideW: 3, dilationH: 2 })).toBeNull();
    expect(check(runtime, { ...depthwise, F: 4, pad: "same", dilationW: 2 })).toBeNull();
    // Winograd, forward and dx (the full correlation), undilated and over the input's phases.
    expect(check(runtime, { ...base, KH: 3, KW: 3, H: 9, W: 11, pad: 1, groups: 1, algorithm: "winograd" })).toBeNull();
    expect(check(runtime, { ...base, KH: 3, KW: 3, H: 9, W: 11, pad: 2, dilationH: 2, groups: 1, algorithm: "winograd" })).toBeNull();
  });

  it("agrees on tiles of every edge size (filters and output pixels from 1 to 13)", () => {
    // Output channels set the 4-filter panels (1–3 left over), output pixels the 8-pixel panels.
    for (let F = 1; F <= 13; F++) {
      for (let width = 1; width <= 13; width++) {
        const c: Case = { N: 1, C: 3, H: 2, W: width, F, KH: 1, KW: 1, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
          groups: 1, pad: 0, bias: true, seed: F * 100 + width };
        expect(check(runtime, c)).toBeNull();
        expect(check(runtime, { ...c, KH: 2, pad: [1, 0] })).toBeNull();
      }
    }
  });

  it("handles larger layers (C = 16, F = 24, 20×20, stride 2, pad 'same'; 1,500 output pixels per image)", () => {
    const c: Case = { N: 2, C: 16, H: 20, W: 20, F: 24, KH: 3, KW: 3, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1,
      groups: 1, pad: "same", bias: true, seed: 99 };
    expect(check(runtime, c)).toBeNull();
    // More output pixels than one dw reduction chunk.
    expect(check(runtime, { ...c, N: 1, C: 3, F: 5, H: 30, W: 50, strideH: 1, strideW: 1, pad: 1 })).toBeNull();
  });
});

describe("the two broadcast forms", () => {
  // Same products, added in the same order: the forms differ only in how A reaches the registers, so
  // every result has the same bits. The bench suite's layers, fixed build, forward GEMM and Winograd.
  it.each(LAYERS.filter((l) => ["L2", "L4", "L5", "X1"].includes(l.name)).map((l) => [l.name, l] as const))(
    "give the same bits on %s of the bench suite (out, dx, dw, db; fixed build; GEMM and auto)", async (_, layer) => {
      const load = await createBuild("fixed", "load"), shuffle = await createBuild("fixed", "shuffle");
      const bits = (runtime: Runtime, algorithm: "gemm" | "auto") => scope(() => {
        const options = { ...layerOptions(layer), algorithm };
        const x = tensor(randomData(1, product(inputShape(layer))), inputShape(layer), runtime);
        const w = tensor(randomData(2, product(weightShape(layer))), weightShape(layer), runtime);
        const b = tensor(randomData(3, layer.F), [layer.F], runtime);
        const out = conv2d(x, w, b, options);
        const { dx, dw, db } = conv2dBackward(tensor(randomData(4, out.size), out.shape, runtime), x, w, options);
        return [out, dx!, dw!, db!].map((t) => new Uint32Array(t.toFloat32Array().buffer));
      });
      for (const algorithm of ["gemm", "auto"] as const) {
        const expected = bits(load, algorithm), got = bits(shuffle, algorithm);
        got.forEach((g, k) => {
          const i = g.findIndex((v, j) => v !== expected[k]![j]);
          expect(i, `${layer.name} ${algorithm} ${["out", "dx", "dw", "db"][k]}: first differing index`).toBe(-1);
        });
      }
    });
});

describe("the debug build", () => {
  it("agrees with the reference on 300 random configurations", async () => {
    const debug = await init({ wasm: await readFile(new URL("../../build/conv2d-simd.debug.wasm", import.meta.url)) });
    runProperty(debug, 300);
  });
});
