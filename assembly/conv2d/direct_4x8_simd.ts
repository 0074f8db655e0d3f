// C[4×8] = bias + Σ_{r,kw} A[4, r·KW + kw] · xp[src + rowOffset(r) + kw·dw + 0..7]: a sliding window over 8 pixels of a padded row, f32x4.

import { madd } from "../simd";

// The forward GEMM's micro-kernel with its B panel read in place: the 8 pixels under tap
// (r = c·KH + kh, kw) are two unaligned vector loads from the padded rows (padded.ts), so nothing is
// gathered; each loaded pair feeds 4 filters (8 accumulators, 2 input vectors and 1 broadcast stay
// below the ~12 live v128 past which V8 spills). A is the forward's packed 4-filter panel (k-major
// groups of 4), rowOffsets the forward's tap-offset table, read every KW-th entry (kw = 0 of each
// row r). Each output is summed bias first, then in tap order, whatever the tile: the same bits for
// any task split. valid < 4 stores only the first valid rows (the last, part-filled filter panel).
export function direct4x8(
  rows: i32, KW: i32, tapBytes: usize, rowOffsets: usize, a: usize, src: usize, c: usize, ldcBytes: usize, bias: usize, valid: i32,
): void {
  let c00 = v128.load32_splat(bias), c01 = c00;
  let c10 = v128.load32_splat(bias, 4), c11 = c10;
  let c20 = v128.load32_splat(bias, 8), c21 = c20;
  let c30 = v128.load32_splat(bias, 12), c31 = c30;
  const K = rows * KW;
  for (let k = 0; k < K; k++) {
      const b = src + (<usize>load<i32>(rowOffsets) << 2);
      rowOffsets += 4;
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
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  if (valid == 1) return;
  c += ldcBytes;
  v128.store(c, c10); v128.store(c, c11, 16);
  if (valid == 2) return;
  c += ldcBytes;
  v128.store(c, c20); v128.store(c, c21, 16);
  if (valid == 3) return;
  c += ldcBytes;
  v128.store(c, c30); v128.store(c, c31, 16);
}
