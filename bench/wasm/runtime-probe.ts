// The cross-runtime reproduction's module (bench/runtime-probe.ts): the 4×8 micro-kernel over L1-resident panels, in its two broadcast forms, beside the ceiling.

import { madd } from "../../assembly/simd";
export { microKernelLoop } from "./micro-kernel";
export { ceiling, ceilingFlops } from "./ceiling";

// The same tile as assembly/gemm/gemm_4x8_packed_simd.ts and the same arithmetic in the same order
// (so the same bits), but A's four values come in one v128 load and are broadcast by lane shuffles:
// 3 memory accesses per k step instead of 6. Where an engine bounds-checks every access (V8 without
// its trap handler: Deno, workerd) or lowers load32_splat through a general register (JavaScriptCore:
// Bun), this form is faster; where loads are free (Node, Chromium) the shuffles compete with the
// multiplies and adds for the vector ports. bench/RESULTS.md, "Why runtimes differ", has the figures.
function gemm4x8PackedShuffle(K: i32, a: usize, b: usize, c: usize, ldcBytes: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const av = v128.load(a);
    const a0 = i32x4.shuffle(av, av, 0, 0, 0, 0);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    const a1 = i32x4.shuffle(av, av, 1, 1, 1, 1);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    const a2 = i32x4.shuffle(av, av, 2, 2, 2, 2);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    const a3 = i32x4.shuffle(av, av, 3, 3, 3, 3);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    a += 16;
    b += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  c += ldcBytes;
  v128.store(c, c10); v128.store(c, c11, 16);
  c += ldcBytes;
  v128.store(c, c20); v128.store(c, c21, 16);
  c += ldcBytes;
  v128.store(c, c30); v128.store(c, c31, 16);
}

/** microKernelLoop (bench/wasm/micro-kernel.ts) with the shuffle form; returns the FLOPs done. */
export function microKernelShuffleLoop(K: i32, panelsA: i32, reps: i32, a: usize, b: usize, c: usize): f64 {
  for (let r = 0; r < reps; r++) {
    for (let p = 0; p < panelsA; p++) {
      gemm4x8PackedShuffle(K, a + (<usize>p * <usize>K << 4), b, c, 32);
    }
  }
  return <f64>reps * <f64>panelsA * <f64>K * 64;
}
