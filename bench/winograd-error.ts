// npx tsx bench/winograd-error.ts: Winograd F(2×2, 3×3)'s float32 error against the float64 reference, beside the GEMM path's, at realistic scale and over the property test's shapes.

import v8 from "node:v8";
import { init, tensor, conv2d, conv2dBackward, scope } from "../js/index.js";
import { referenceConv2d, type ReferenceConfig } from "../test/reference/conv2d.js";
import { Random } from "../js/core/random.js";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const simd = (process.argv.includes("--relaxed") ? "relaxed" : "fixed") as "fixed" | "relaxed";
await init({ simd, threads: 1 });
const random = new Random(5);
const normal = () => Math.sqrt(-2 * Math.log(1 - random.uniform())) * Math.cos(2 * Math.PI * random.uniform());
const ALGORITHMS = ["gemm", "winograd"] as const;

/** The largest |error| of out and dx on each algorithm, and the RMS of the exact out and dx. */
function errors(cfg: ReferenceConfig, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const ref = referenceConv2d(cfg, x, w, null, dy);
  const rms = (a: Float64Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  const result = { rms: { out: rms(ref.out), dx: rms(ref.dx) }, worst: {} as Record<string, { out: number; dx: number }> };
  for (const algorithm of ALGORITHMS) scope(() => {
    const options = { pad: { top: cfg.padTop, bottom: cfg.padBottom, left: cfg.padLeft, right: cfg.padRight }, algorithm };
    const xt = tensor(x, [cfg.N, cfg.C, cfg.H, cfg.W]), wt = tensor(w, [cfg.F, cfg.C, 3, 3]);
    const out = conv2d(xt, wt, null, options);
    const dx = conv2dBackward(tensor(dy, out.shape), xt, wt, options, { dx: true }).dx;
    const worst = (a: Float32Array, e: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - e[i]!)), 0);
    result.worst[algorithm] = { out: worst(out.toFloat32Array(), ref.out), dx: worst(dx.toFloat32Array(), ref.dx) };
  });
  return result;
}

const square = (N: number, C: number, S: number, F: number): ReferenceConfig => ({
  N, C, H: S, W: S, F, KH: 3, KW: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1,
});

console.log(`Winograd F(2×2, 3×3) against the GEMM path, ${simd} build: largest |error| over the output ÷ the exact output's RMS`);
console.log("realistic scale (He-initialised weights, ReLU inputs, pad 1):");
console.log("layer               | out GEMM | out Winograd | dx GEMM | dx Winograd");
for (const [C, S] of [[16, 28], [64, 28], [128, 14], [256, 14], [512, 7]] as const) {
  const cfg = square(1, C, S, C);
  const x = Float32Array.from({ length: C * S * S }, () => Math.max(normal(), 0));
  const w = Float32Array.from({ length: C * C * 9 }, () => normal() * Math.sqrt(2 / (9 * C)));
  const dy = Float32Array.from({ length: C * S * S }, normal);
  const e = errors(cfg, x, w, dy);
  const share = (v: number, r: number) => (v / r).toExponential(2).padStart(8);
  console.log(`1×${C}×${S}×${S} → ${C}`.padEnd(20) + `| ${share(e.worst.gemm!.out, e.rms.out)} | ${share(e.worst.winograd!.out, e.rms.out).padStart(12)} | ${share(e.worst.gemm!.dx, e.rms.dx).padStart(7)} | ${share(e.worst.winograd!.dx, e.rms.dx).padStart(11)}`);
}
// The property test's distribution (test/conv/winograd.test.ts): uniform [−1, 1] data, 1–20 channels, 1–21 pixels a side, pads 0–3.
const worst = { gemm: { out: 0, dx: 0 }, winograd: { out: 0, dx: 0 } };
const draw = (low: number, high: number) => low + Math.floor(random.uniform() * (high - low + 1));
let shapes = 0;
while (shapes < 500) {
  const p = [draw(0, 3), draw(0, 3), draw(0, 3), draw(0, 3)];
  const cfg: ReferenceConfig = { ...square(draw(1, 3), draw(1, 20), 0, draw(1, 20)), H: draw(1, 21), W: draw(1, 21), padTop: p[0]!, padBottom: p[1]!, padLeft: p[2]!, padRight: p[3]! };
  if (cfg.H + p[0]! + p[1]! < 3 || cfg.W + p[2]! + p[3]! < 3) continue;
  shapes++;
  const uniform = (n: number) => random.uniformArray(n, -1, 1);
  const Ho = cfg.H + p[0]! + p[1]! - 2, Wo = cfg.W + p[2]! + p[3]! - 2;
  const e = errors(cfg, uniform(cfg.N * cfg.C * cfg.H * cfg.W), uniform(cfg.F * cfg.C * 9), uniform(cfg.N * cfg.F * Ho * Wo));
  for (const a of ALGORITHMS) for (const d of ["out", "dx"] as const) worst[a][d] = Math.max(worst[a][d], e.worst[a]![d]);
}
console.log(`\nthe property test's shapes (${shapes} random, uniform [−1, 1] data): largest |error| anywhere`);
console.log(`out: GEMM ${worst.gemm.out.toExponential(2)}, Winograd ${worst.winograd.out.toExponential(2)}; dx: GEMM ${worst.gemm.dx.toExponential(2)}, Winograd ${worst.winograd.dx.toExponential(2)} (the tests' tolerance: 1e-4)`);
