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
