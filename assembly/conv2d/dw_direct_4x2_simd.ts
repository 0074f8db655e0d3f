// acc[f][t] += Σ_{i,j} dy_f[i, j] · xp[x_t + i·rowStride + j] lane by lane (j ≡ lane mod 4), for 4 filters × 2 taps: one image's share of a dw tile, f32x4.

import { madd } from "../simd";

// The 8 accumulators live in memory between images (acc: 8 vectors, a[f][t] at (2f + t)·16 bytes) and in
// registers within one: per 4 pixels of a row, 2 unaligned x loads (the taps) and 4 dy loads (the
// filters) feed 8 multiply-adds, with 8 accumulators + 2 x + 1 dy live (below V8's spill point). Each
// lane sums its pixels in row order, so a dw element's order is fixed by the geometry. A row's last
// rest = width mod 4 pixels are read as the row's last 4 (width ≥ 4: no read past dy's end), with the
// lanes already counted zeroed in both operands: 0·0 adds +0, where an x lane (possibly ±∞) times a
// zeroed dy alone could make a NaN.
export function dwDirect4x2(
  acc: usize, rows: i32, width: i32, x0: usize, x1: usize, xRowBytes: usize,
  dy0: usize, dy1: usize, dy2: usize, dy3: usize,
): void {
  let a00 = v128.load(acc), a01 = v128.load(acc, 16);
  let a10 = v128.load(acc, 32), a11 = v128.load(acc, 48);
  let a20 = v128.load(acc, 64), a21 = v128.load(acc, 80);
  let a30 = v128.load(acc, 96), a31 = v128.load(acc, 112);
  const whole = <usize>(width & ~3) << 2;
  const rest = width & 3;
  const last = <usize>(width - 4) << 2;
  const mask = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(4 - rest));
  const dyRowBytes = <usize>width << 2;
  for (let i = 0; i < rows; i++) {
    for (let j: usize = 0; j < whole; j += 16) {
      const v0 = v128.load(x0 + j), v1 = v128.load(x1 + j);
      const d0 = v128.load(dy0 + j);
      a00 = madd(d0, v0, a00); a01 = madd(d0, v1, a01);
      const d1 = v128.load(dy1 + j);
      a10 = madd(d1, v0, a10); a11 = madd(d1, v1, a11);
      const d2 = v128.load(dy2 + j);
      a20 = madd(d2, v0, a20); a21 = madd(d2, v1, a21);
      const d3 = v128.load(dy3 + j);
      a30 = madd(d3, v0, a30); a31 = madd(d3, v1, a31);
    }
    if (rest != 0) {
      const v0 = v128.and(v128.load(x0 + last), mask), v1 = v128.and(v128.load(x1 + last), mask);
      const d0 = v128.and(v128.load(dy0 + last), mask);
      a00 = madd(d0, v0, a00); a01 = madd(d0, v1, a01);
      const d1 = v128.and(v128.load(dy1 + last), mask);
      a10 = madd(d1, v0, a10); a11 = madd(d1, v1, a11);
      const d2 = v128.and(v128.load(dy2 + last), mask);
      a20 = madd(d2, v0, a20); a21 = madd(d2, v1, a21);
      const d3 = v128.and(v128.load(dy3 + last), mask);
      a30 = madd(d3, v0, a30); a31 = madd(d3, v1, a31);
    }
    x0 += xRowBytes;
    x1 += xRowBytes;
    dy0 += dyRowBytes;
    dy1 += dyRowBytes;
    dy2 += dyRowBytes;
    dy3 += dyRowBytes;
  }
  v128.store(acc, a00); v128.store(acc, a01, 16);
  v128.store(acc, a10, 32); v128.store(acc, a11, 48);
  v128.store(acc, a20, 64); v128.store(acc, a21, 80);
  v128.store(acc, a30, 96); v128.store(acc, a31, 112);
}
