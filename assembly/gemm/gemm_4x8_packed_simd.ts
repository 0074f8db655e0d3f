// C[4×8] = bias + Σ_k A[4×K]·B[K×8] over packed panels (A: k-major groups of 4, B: k-major rows of 8), f32x4; A broadcast by loads or by shuffles.

import { madd } from "../simd";

// Two forms of one kernel: the same arithmetic in the same order, so the same bits; they differ only
// in how each k step broadcasts A's four values. The load form issues four load32_splat (6 memory
// accesses per step); the shuffle form one v128 load and four lane shuffles (3 accesses). Where loads
// are free (V8 with its trap handler: Node, Chromium) the load form is faster, the shuffles competing
// with the multiplies and adds for the vector ports; where every access is bounds-checked (V8 without
// a trap handler: Deno, workerd) or load32_splat goes through a general register (JavaScriptCore: Bun),
// the shuffle form is. The API picks one per engine (js/core/features.ts); bench/RESULTS.md, "Why
// runtimes differ", has the figures.
/** A broadcast by four load32_splat per k step. */
export const BROADCAST_LOAD: i32 = 0;
/** A broadcast by one v128 load and four lane shuffles per k step. */
export const BROADCAST_SHUFFLE: i32 = 1;

/** The form's kernel; the branch is per call, outside the K loop. */
@inline export function gemm4x8PackedAs(form: i32, K: i32, a: usize, b: usize, c: usize, ldcBytes: usize, bias: usize): void {
  if (form == BROADCAST_SHUFFLE) gemm4x8PackedShuffle(K, a, b, c, ldcBytes, bias);
  else gemm4x8Packed(K, a, b, c, ldcBytes, bias);
}

// The register tile: 8 accumulators + 2 B vectors + 1 broadcast stay below the ~12 live v128 values
// past which V8 spills to the stack (the shuffle form adds A's vector: 12). Both panels are read with
// constant offsets from one pointer each. ldcBytes is C's row stride; bias (0 for none) points at the
// tile's 4 row biases.
export function gemm4x8Packed(K: i32, a: usize, b: usize, c: usize, ldcBytes: usize, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (bias != 0) {
    c00 = v128.load32_splat(bias); c01 = c00;
    c10 = v128.load32_splat(bias, 4); c11 = c10;
    c20 = v128.load32_splat(bias, 8); c21 = c20;
    c30 = v128.load32_splat(bias, 12); c31 = c30;
  }
  // One step per iteration: unrolling by two made V8 hoist the second step's loads and spill.
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(a, 8);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(a, 12);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    a += 16;
    b += 32;
  }
  storeTile(c, ldcBytes, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** gemm4x8Packed with A's four values read in one v128 load and broadcast by lane shuffles. */
export function gemm4x8PackedShuffle(K: i32, a: usize, b: usize, c: usize, ldcBytes: usize, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (bias != 0) {
    const biases = v128.load(bias);
    c00 = i32x4.shuffle(biases, biases, 0, 0, 0, 0); c01 = c00;
    c10 = i32x4.shuffle(biases, biases, 1, 1, 1, 1); c11 = c10;
    c20 = i32x4.shuffle(biases, biases, 2, 2, 2, 2); c21 = c20;
    c30 = i32x4.shuffle(biases, biases, 3, 3, 3, 3); c31 = c30;
  }
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
  storeTile(c, ldcBytes, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** The 4×8 tile's rows at c, ldcBytes apart: both forms end here. */
@inline function storeTile(c: usize, ldcBytes: usize, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  v128.store(c, c00); v128.store(c, c01, 16);
  c += ldcBytes;
  v128.store(c, c10); v128.store(c, c11, 16);
  c += ldcBytes;
  v128.store(c, c20); v128.store(c, c21, 16);
  c += ldcBytes;
  v128.store(c, c30); v128.store(c, c31, 16);
}
