// C[m,n] (+)= Σ_k A[m,k]·B[n,k]: dot products of rows, 4×2 tiles, f32x4 along k, horizontal sums at the end.

import { madd, horizontalSum } from "../simd";

// Both operands are read along their rows, so neither needs a transposed copy: this is dW = dY·colᵀ.
export function gemmNT(
  M: i32, N: i32, K: i32,
  a: usize, lda: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: bool,
): void {
  const aRowBytes = <usize>lda << 2;
  const bRowBytes = <usize>ldb << 2;
  const cRowBytes = <usize>ldc << 2;
  const kVector = K & ~3;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const aRows = a + <usize>i * aRowBytes;
    const cRows = c + <usize>i * cRowBytes;
    let j = 0;
    for (; j + 2 <= N; j += 2) {
      tile4x2(K, kVector, aRows, aRowBytes, b + <usize>j * bRowBytes, bRowBytes, cRows + (<usize>j << 2), cRowBytes, accumulate);
    }
    for (; j < N; j++) {
      for (let r = 0; r < 4; r++) {
        dot(K, kVector, aRows + <usize>r * aRowBytes, b + <usize>j * bRowBytes, cRows + <usize>r * cRowBytes + (<usize>j << 2), accumulate);
      }
    }
  }
  for (; i < M; i++) {
    const aRow = a + <usize>i * aRowBytes;
    const cRow = c + <usize>i * cRowBytes;
    for (let j = 0; j < N; j++) {
      dot(K, kVector, aRow, b + <usize>j * bRowBytes, cRow + (<usize>j << 2), accumulate);
    }
  }
}

@inline function tile4x2(
  K: i32, kVector: i32, a: usize, aRowBytes: usize, b: usize, bRowBytes: usize,
  c: usize, cRowBytes: usize, accumulate: bool,
): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0);
  let s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  const a1 = a + aRowBytes, a2 = a + aRowBytes * 2, a3 = a + aRowBytes * 3, b1 = b + bRowBytes;
  let offset: usize = 0;
  const end = <usize>kVector << 2;
  for (; offset < end; offset += 16) {
    const v0 = v128.load(b + offset);
    const v1 = v128.load(b1 + offset);
    const u0 = v128.load(a + offset);
    const u1 = v128.load(a1 + offset);
    const u2 = v128.load(a2 + offset);
    const u3 = v128.load(a3 + offset);
    s00 = madd(u0, v0, s00); s01 = madd(u0, v1, s01);
    s10 = madd(u1, v0, s10); s11 = madd(u1, v1, s11);
    s20 = madd(u2, v0, s20); s21 = madd(u2, v1, s21);
    s30 = madd(u3, v0, s30); s31 = madd(u3, v1, s31);
  }
  // The tail (K mod 4) enters lane 0 so that every dot product sums in the same order.
  for (let k = kVector; k < K; k++) {
    const o = <usize>k << 2;
    const v0 = v128.load32_zero(b + o);
    const v1 = v128.load32_zero(b1 + o);
    const u0 = v128.load32_zero(a + o);
    const u1 = v128.load32_zero(a1 + o);
    const u2 = v128.load32_zero(a2 + o);
    const u3 = v128.load32_zero(a3 + o);
    s00 = madd(u0, v0, s00); s01 = madd(u0, v1, s01);
    s10 = madd(u1, v0, s10); s11 = madd(u1, v1, s11);
    s20 = madd(u2, v0, s20); s21 = madd(u2, v1, s21);
    s30 = madd(u3, v0, s30); s31 = madd(u3, v1, s31);
  }
  storeSum(c, horizontalSum(s00), accumulate); storeSum(c + 4, horizontalSum(s01), accumulate);
  storeSum(c + cRowBytes, horizontalSum(s10), accumulate); storeSum(c + cRowBytes + 4, horizontalSum(s11), accumulate);
  storeSum(c + cRowBytes * 2, horizontalSum(s20), accumulate); storeSum(c + cRowBytes * 2 + 4, horizontalSum(s21), accumulate);
  storeSum(c + cRowBytes * 3, horizontalSum(s30), accumulate); storeSum(c + cRowBytes * 3 + 4, horizontalSum(s31), accumulate);
}

@inline function dot(K: i32, kVector: i32, a: usize, b: usize, c: usize, accumulate: bool): void {
  let sum = f32x4.splat(0);
  let offset: usize = 0;
  const end = <usize>kVector << 2;
  for (; offset < end; offset += 16) {
    sum = madd(v128.load(a + offset), v128.load(b + offset), sum);
  }
  for (let k = kVector; k < K; k++) {
    const o = <usize>k << 2;
    sum = madd(v128.load32_zero(a + o), v128.load32_zero(b + o), sum);
  }
  storeSum(c, horizontalSum(sum), accumulate);
}

@inline function storeSum(c: usize, value: f32, accumulate: bool): void {
  store<f32>(c, accumulate ? load<f32>(c) + value : value);
}
