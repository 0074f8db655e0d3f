// packed[p][k][r] = A[4p + r, k] (0 for rows past M): 4-row panels of A, k-major, as the 4×8 micro-kernel reads them.

// A is read through (rowStride, colStride), so W (forward) and Wᵀ (dx) pack with the same code.
// Panels are zero-padded to 4 rows: the micro-kernel then never needs a row mask.
export function packRowPanels(M: i32, K: i32, a: usize, aRowStride: i32, aColStride: i32, packed: usize): void {
  const rowBytes = <usize>aRowStride << 2;
  const colBytes = <usize>aColStride << 2;
  let dst = packed;
  for (let i = 0; i < M; i += 4) {
    const rows = min(4, M - i);
    let src = a + <usize>i * rowBytes;
    if (rows == 4) {
      for (let k = 0; k < K; k++) {
        store<f32>(dst, load<f32>(src));
        store<f32>(dst, load<f32>(src + rowBytes), 4);
        store<f32>(dst, load<f32>(src + rowBytes * 2), 8);
        store<f32>(dst, load<f32>(src + rowBytes * 3), 12);
        src += colBytes;
        dst += 16;
      }
    } else {
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < 4; r++) {
          store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * rowBytes) : 0);
        }
        src += colBytes;
        dst += 16;
      }
    }
  }
}

/** Bytes packRowPanels writes for an M × K matrix. */
@inline export function packedRowPanelsBytes(M: i32, K: i32): usize {
  return <usize>((M + 3) & ~3) * <usize>K << 2;
}

/**
 * The weights of dx computed as a forward pass (stride 1): packed[p][k'][r] = w[f, 4p + r, KH−1−kh, KW−1−kw]
 * with k' = (f·KH + kh)·KW + kw, i.e. w transposed in (f, c) and rotated 180° — rows past Cg are 0.
 * w points at the group's first filter (Fg filters of Cg·KH·KW). Returns false if any weight is ±∞
 * or NaN (the caller then takes a path that does not multiply them by padding zeros).
 */
export function packTransposedRotated(Fg: i32, Cg: i32, KH: i32, KW: i32, w: usize, packed: usize): bool {
  const taps = KH * KW;
  let finite = true;
  let dst = packed;
  for (let c0 = 0; c0 < Cg; c0 += 4) {
    for (let f = 0; f < Fg; f++) {
      for (let t = 0; t < taps; t++) {
        for (let r = 0; r < 4; r++) {
          const c = c0 + r;
          let v: f32 = 0;
          if (c < Cg) {
            v = load<f32>(w + (<usize>((f * Cg + c) * taps + taps - 1 - t) << 2));
            if (v - v != 0) finite = false;
          }
          store<f32>(dst, v);
          dst += 4;
        }
      }
    }
  }
  return finite;
}
