// C[m,n] (+)= Σ_k A[m,k]·B[k,n]: 4×8 register tiles over f32x4; A read through (rowStride, colStride), so Aᵀ is free.

import { madd } from "../simd";

// Why A is strided and B is not: A's values are broadcast one at a time (any stride costs the same),
// while B's rows are read four lanes at a time and must be contiguous.
export function gemmNN(
  M: i32, N: i32, K: i32,
  a: usize, aRowStride: i32, aColStride: i32,
  b: usize, ldb: i32,
  c: usize, ldc: i32,
  accumulate: bool,
): void {
  const aRowBytes = <usize>aRowStride << 2;
  const aColBytes = <usize>aColStride << 2;
  const bRowBytes = <usize>ldb << 2;
  const cRowBytes = <usize>ldc << 2;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const aRows = a + <usize>i * aRowBytes;
    const cRows = c + <usize>i * cRowBytes;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      tile4x8(K, aRows, aRowBytes, aColBytes, b + (<usize>j << 2), bRowBytes, cRows + (<usize>j << 2), cRowBytes, accumulate);
    }
    for (; j + 4 <= N; j += 4) {
      tile4x4(K, aRows, aRowBytes, aColBytes, b + (<usize>j << 2), bRowBytes, cRows + (<usize>j << 2), cRowBytes, accumulate);
    }
    for (; j < N; j++) {
      tile4x1(K, aRows, aRowBytes, aColBytes, b + (<usize>j << 2), bRowBytes, cRows + (<usize>j << 2), cRowBytes, accumulate);
    }
  }
  for (; i < M; i++) {
    const aRow = a + <usize>i * aRowBytes;
    const cRow = c + <usize>i * cRowBytes;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      tile1x8(K, aRow, aColBytes, b + (<usize>j << 2), bRowBytes, cRow + (<usize>j << 2), accumulate);
    }
    for (; j + 4 <= N; j += 4) {
      tile1x4(K, aRow, aColBytes, b + (<usize>j << 2), bRowBytes, cRow + (<usize>j << 2), accumulate);
    }
    for (; j < N; j++) {
      tile1x1(K, aRow, aColBytes, b + (<usize>j << 2), bRowBytes, cRow + (<usize>j << 2), accumulate);
    }
  }
}

@inline function tile4x8(
  K: i32, a: usize, aRowBytes: usize, aColBytes: usize,
  b: usize, bRowBytes: usize, c: usize, cRowBytes: usize, accumulate: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const a1Offset = aRowBytes, a2Offset = aRowBytes * 2, a3Offset = aRowBytes * 3;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(a + a1Offset);
    const a2 = v128.load32_splat(a + a2Offset);
    const a3 = v128.load32_splat(a + a3Offset);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    a += aColBytes;
    b += bRowBytes;
  }
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + cRowBytes)); c11 = f32x4.add(c11, v128.load(c + cRowBytes, 16));
    c20 = f32x4.add(c20, v128.load(c + cRowBytes * 2)); c21 = f32x4.add(c21, v128.load(c + cRowBytes * 2, 16));
    c30 = f32x4.add(c30, v128.load(c + cRowBytes * 3)); c31 = f32x4.add(c31, v128.load(c + cRowBytes * 3, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + cRowBytes, c10); v128.store(c + cRowBytes, c11, 16);
  v128.store(c + cRowBytes * 2, c20); v128.store(c + cRowBytes * 2, c21, 16);
  v128.store(c + cRowBytes * 3, c30); v128.store(c + cRowBytes * 3, c31, 16);
}

@inline function tile4x4(
  K: i32, a: usize, aRowBytes: usize, aColBytes: usize,
  b: usize, bRowBytes: usize, c: usize, cRowBytes: usize, accumulate: bool,
): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b);
    c0 = madd(v128.load32_splat(a), b0, c0);
    c1 = madd(v128.load32_splat(a + aRowBytes), b0, c1);
    c2 = madd(v128.load32_splat(a + aRowBytes * 2), b0, c2);
    c3 = madd(v128.load32_splat(a + aRowBytes * 3), b0, c3);
    a += aColBytes;
    b += bRowBytes;
  }
  if (accumulate) {
    c0 = f32x4.add(c0, v128.load(c));
    c1 = f32x4.add(c1, v128.load(c + cRowBytes));
    c2 = f32x4.add(c2, v128.load(c + cRowBytes * 2));
    c3 = f32x4.add(c3, v128.load(c + cRowBytes * 3));
  }
  v128.store(c, c0);
  v128.store(c + cRowBytes, c1);
  v128.store(c + cRowBytes * 2, c2);
  v128.store(c + cRowBytes * 3, c3);
}

// One column of four rows: the four rows become the lanes, so even the edge stays vectorised.
@inline function tile4x1(
  K: i32, a: usize, aRowBytes: usize, aColBytes: usize,
  b: usize, bRowBytes: usize, c: usize, cRowBytes: usize, accumulate: bool,
): void {
  let sum = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    let column = f32x4.splat(load<f32>(a));
    column = f32x4.replace_lane(column, 1, load<f32>(a + aRowBytes));
    column = f32x4.replace_lane(column, 2, load<f32>(a + aRowBytes * 2));
    column = f32x4.replace_lane(column, 3, load<f32>(a + aRowBytes * 3));
    sum = madd(column, v128.load32_splat(b), sum);
    a += aColBytes;
    b += bRowBytes;
  }
  if (accumulate) {
    store<f32>(c, load<f32>(c) + f32x4.extract_lane(sum, 0));
    store<f32>(c + cRowBytes, load<f32>(c + cRowBytes) + f32x4.extract_lane(sum, 1));
    store<f32>(c + cRowBytes * 2, load<f32>(c + cRowBytes * 2) + f32x4.extract_lane(sum, 2));
    store<f32>(c + cRowBytes * 3, load<f32>(c + cRowBytes * 3) + f32x4.extract_lane(sum, 3));
  } else {
    store<f32>(c, f32x4.extract_lane(sum, 0));
    store<f32>(c + cRowBytes, f32x4.extract_lane(sum, 1));
    store<f32>(c + cRowBytes * 2, f32x4.extract_lane(sum, 2));
    store<f32>(c + cRowBytes * 3, f32x4.extract_lane(sum, 3));
  }
}

@inline function tile1x8(
  K: i32, a: usize, aColBytes: usize, b: usize, bRowBytes: usize, c: usize, accumulate: bool,
): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const a0 = v128.load32_splat(a);
    c0 = madd(a0, v128.load(b), c0);
    c1 = madd(a0, v128.load(b, 16), c1);
    a += aColBytes;
    b += bRowBytes;
  }
  if (accumulate) {
    c0 = f32x4.add(c0, v128.load(c));
    c1 = f32x4.add(c1, v128.load(c, 16));
  }
  v128.store(c, c0);
  v128.store(c, c1, 16);
}

@inline function tile1x4(
  K: i32, a: usize, aColBytes: usize, b: usize, bRowBytes: usize, c: usize, accumulate: bool,
): void {
  let c0 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    c0 = madd(v128.load32_splat(a), v128.load(b), c0);
    a += aColBytes;
    b += bRowBytes;
  }
  if (accumulate) c0 = f32x4.add(c0, v128.load(c));
  v128.store(c, c0);
}

// The single corner element: scalar, and it rounds like the vector lanes (separate multiply and add,
// or one fused multiply-add in the relaxed build) so every element of C sees the same arithmetic.
@inline function tile1x1(
  K: i32, a: usize, aColBytes: usize, b: usize, bRowBytes: usize, c: usize, accumulate: bool,
): void {
  let sum = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    sum = madd(v128.load32_splat(a), v128.load32_splat(b), sum);
    a += aColBytes;
    b += bRowBytes;
  }
  const value = f32x4.extract_lane(sum, 0);
  store<f32>(c, accumulate ? load<f32>(c) + value : value);
}
